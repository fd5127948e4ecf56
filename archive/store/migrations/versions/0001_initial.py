"""initial store

Revision ID: 0001
Revises:


"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    _create_jobs()
    _create_resources()
    _create_captures()
    _create_link_events()


def _create_jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def _create_resources() -> None:
    op.create_table(
        "resources",
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("stable_id", sa.String(length=80), nullable=False),
        sa.Column("stable_id_source", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_key", sa.Text(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("cited_by", sa.JSON(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("link_state", sa.String(length=16), nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("failure_kind", sa.String(length=16), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_capture_id", sa.String(length=64), nullable=True),
        sa.Column("refresh_seconds", sa.Integer(), nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("resource_id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("stable_id"),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resources_host"), ["host"], unique=False)
        batch_op.create_index(batch_op.f("ix_resources_link_state"), ["link_state"], unique=False)
        batch_op.create_index(batch_op.f("ix_resources_next_due_at"), ["next_due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_resources_type"), ["type"], unique=False)
        batch_op.create_index(batch_op.f("ix_resources_url_key"), ["url_key"], unique=False)


def _create_captures() -> None:
    op.create_table(
        "captures",
        sa.Column("capture_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("requested_url", sa.Text(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("redirect_chain", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("payload_length", sa.BigInteger(), nullable=True),
        sa.Column("payload_digest", sa.String(length=80), nullable=True),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("is_revisit", sa.Boolean(), nullable=False),
        sa.Column("revisit_of", sa.String(length=64), nullable=True),
        sa.Column("warc_record_id", sa.String(length=64), nullable=True),
        sa.Column("warc_date", sa.String(length=40), nullable=True),
        sa.Column("warc_file", sa.String(length=255), nullable=True),
        sa.Column("warc_offset", sa.BigInteger(), nullable=True),
        sa.Column("warc_length", sa.BigInteger(), nullable=True),
        sa.Column("error_class", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        *_capture_preview_columns(),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.resource_id"],
        ),
        sa.PrimaryKeyConstraint("capture_id"),
    )
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_captures_payload_digest"), ["payload_digest"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_captures_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(
            "ix_captures_resource_time", ["resource_id", "fetched_at"], unique=False
        )


def _capture_preview_columns() -> list[sa.Column[Any]]:
    # What the capture's extracted preview holds, beside what was fetched.
    return [
        sa.Column("page_title", sa.Text(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("published_date", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("canonical_url", sa.Text(), nullable=True),
        sa.Column("full_text", sa.Text(), nullable=True),
        sa.Column("full_text_preview", sa.Text(), nullable=True),
        sa.Column("content_length", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(length=80), nullable=True),
        sa.Column("fetch_method", sa.String(length=32), nullable=True),
        sa.Column("extractor", sa.String(length=64), nullable=True),
        sa.Column("text_changed", sa.Boolean(), nullable=True),
        sa.Column("change_size", sa.Integer(), nullable=True),
    ]


def _create_link_events() -> None:
    op.create_table(
        "link_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("capture_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.resource_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("link_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_events_resource_id"), ["resource_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("link_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_events_resource_id"))

    op.drop_table("link_events")
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_index("ix_captures_resource_time")
        batch_op.drop_index(batch_op.f("ix_captures_resource_id"))
        batch_op.drop_index(batch_op.f("ix_captures_payload_digest"))

    op.drop_table("captures")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resources_url_key"))
        batch_op.drop_index(batch_op.f("ix_resources_type"))
        batch_op.drop_index(batch_op.f("ix_resources_next_due_at"))
        batch_op.drop_index(batch_op.f("ix_resources_link_state"))
        batch_op.drop_index(batch_op.f("ix_resources_host"))

    op.drop_table("resources")
    op.drop_table("jobs")
    # ### end Alembic commands ###
