"""The store itself: migrations match the models, SQLite runs in WAL with foreign keys."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from archive.config import load_config
from archive.store.db import Store, alembic_config, make_engine, pending_migrations
from archive.store.models import Base

HEAD = ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://"))).get_current_head()


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
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == HEAD
    again.close()


def test_a_store_made_by_an_older_version_is_upgraded_in_place(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'archive.sqlite3'}")
    command.upgrade(alembic_config(engine), "0001")  # the first release's schema
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into jobs (started_at, status, counts, settings)"
                " values ('2026-01-01 00:00:00', 'finished', '{}', '{}')"
            )
        )
    engine.dispose()
    st = Store(load_config(home=home, database_url=""))
    with st.engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == HEAD
        assert conn.execute(sa.text("select count(*) from jobs")).scalar() == 1
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("captures")}
        assert "ix_captures_warc_record_id" in indexes
    st.close()
