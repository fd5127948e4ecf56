"""what each capture's page loads: its requisites and the cut

A requisite (a stylesheet, image, font, frame...) is not a resource: it has no link state
and no capture of its own. Each capture names the requisites its page used, with each
one's outcome and records, and says when a cap cut the list short.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requisites_cut", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("requisites_left_out", sa.Integer(), nullable=True))
    op.create_table(
        "capture_requisites",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("capture_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("found_in", sa.Text(), nullable=True),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("final_url_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("error_class", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("hops", sa.JSON(), nullable=False),
        sa.Column("warc_record_id", sa.String(length=64), nullable=True),
        sa.Column("warc_date", sa.String(length=40), nullable=True),
        sa.Column("payload_digest", sa.String(length=80), nullable=True),
        sa.Column("is_revisit", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.capture_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("capture_requisites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_capture_requisites_capture_id"), ["capture_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_capture_requisites_final_url_hash"), ["final_url_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("capture_requisites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capture_requisites_final_url_hash"))
        batch_op.drop_index(batch_op.f("ix_capture_requisites_capture_id"))
    op.drop_table("capture_requisites")
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_column("requisites_left_out")
        batch_op.drop_column("requisites_cut")
