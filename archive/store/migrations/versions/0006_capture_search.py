"""full-text search of captures: their titles, URLs and text

SQLite: an FTS5 table kept by triggers on ``captures``; PostgreSQL: a generated
``tsvector`` column with a GIN index (archive/store/fulltext.py). Both are filled with
every capture already in the store.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

from archive.store import fulltext

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    fulltext.create_index(op.get_bind())


def downgrade() -> None:
    fulltext.drop_index(op.get_bind())
