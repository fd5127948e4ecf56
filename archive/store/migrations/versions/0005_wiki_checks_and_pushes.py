"""the wiki's own prior checks of its citations, and what was pushed to its server

``prior_checks``: each check the wiki's citation-archive files record (never a capture).
``wiki_pushes``: each row of the wiki's citation_content its server acknowledged, by
server and URL, with the hash that says whether it changed since.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prior_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("page_id", sa.String(length=255), nullable=False),
        sa.Column("footnote", sa.Integer(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("link_text", sa.Text(), nullable=True),
        sa.Column("claim_context", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("page_title", sa.Text(), nullable=True),
        sa.Column("content_snippet", sa.Text(), nullable=True),
        sa.Column("content_length", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("verified_at", sa.String(length=40), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.resource_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("prior_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prior_checks_resource_id"), ["resource_id"], unique=False
        )
    op.create_table(
        "wiki_pushes",
        sa.Column("server", sa.String(length=255), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("capture_id", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("server", "url_hash"),
    )


def downgrade() -> None:
    op.drop_table("wiki_pushes")
    with op.batch_alter_table("prior_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prior_checks_resource_id"))
    op.drop_table("prior_checks")
