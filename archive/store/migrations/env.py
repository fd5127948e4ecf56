"""Alembic environment: the engine comes from ``archive.store.db`` (never from an ini file)."""

from __future__ import annotations

from alembic import context

from archive.store.fulltext import include_name
from archive.store.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # The full-text index is not in the models: it is the migrations' own.
        include_name=include_name,
    )
    context.run_migrations()
