"""The store itself: migrations match the models, SQLite runs in WAL with foreign keys."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from archive.config import load_config
from archive.db import Store, pending_migrations
from archive.models import Base


def test_migrations_build_exactly_the_models(store: Store) -> None:
    assert not pending_migrations(store.engine)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_store_lives_under_archive_home(tmp_path: Path) -> None:
    home = tmp_path / "state"
    st = Store(load_config(home=home, database_url=""))
    with st.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    assert (home / "archive.sqlite3").exists()
    st.close()
    again = Store(
        load_config(home=home, database_url="")
    )  # reopening upgrades nothing, loses nothing
    with again.engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == "0001"
    again.close()
