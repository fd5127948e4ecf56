"""Opening the store: engine, SQLite pragmas, migrations, sessions."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker

from archive.config import Config
from archive.store.fulltext import register_sqlite_functions

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic's per-connection chatter ("Context impl SQLiteImpl") is noise in crawl logs.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets `archive show` read while a crawl writes; the busy timeout makes a
    # second writer wait instead of failing at once; SQLite leaves FKs off by default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
    # The search index's triggers call it (archive/store/fulltext.py).
    register_sqlite_functions(dbapi_conn)


# Rows named in one IN (...) list: well under SQLite's bound-parameter limit.
IN_LIST_SIZE = 500


def chunks(items: Sequence[Any], size: int = IN_LIST_SIZE) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``, for queries naming many rows."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def newest_revision() -> str:
    """The newest migration's revision, read from the file names (``NNNN_what.py``, whose
    ``revision`` is ``NNNN``: tests/test_store.py holds them to it)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT version_num FROM alembic_version"))
    except exc.DBAPIError:  # no such table: a new store
        return None


def pending_migrations(engine: Engine) -> bool:
    # The common case, a store already at the newest revision, costs one query: Alembic
    # (a quarter of a second to import and read its scripts) is only for the others.
    if _current_revision(engine) == newest_revision():
        return False
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current != script.get_current_head()


def _empty_sqlite(engine: Engine) -> bool:
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as conn:
        return not conn.scalar(text("SELECT count(*) FROM sqlite_master"))


def upgrade(engine: Engine) -> None:
    """Apply pending migrations in place (the store is upgraded, never recreated); a new
    SQLite store gets its schema from the migrations' snapshot (archive/store/snapshot.py)."""
    if _empty_sqlite(engine):
        from archive.store.snapshot import create_from_snapshot, snapshot_revision

        if snapshot_revision() == newest_revision() and create_from_snapshot(engine):
            return
    upgrade_with_alembic(engine)


def upgrade_with_alembic(engine: Engine) -> None:
    """Apply the pending migrations with Alembic."""
    if pending_migrations(engine):
        from alembic import command

        logging.getLogger(__name__).info("upgrading the store's schema to the latest revision")
        command.upgrade(alembic_config(engine), "head")


class StoreError(RuntimeError):
    """The store cannot be opened as configured (its message says why, in one line)."""


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


class Store:
    """One open store: its config, engine and session factory.

    ``create=False`` (commands that only read) refuses a SQLite store that does not exist
    yet instead of creating an empty one.
    """

    def __init__(self, config: Config, migrate: bool = True, create: bool = True) -> None:
        self.config = config
        path = sqlite_path(config.database_url)
        if not create and path is not None and not path.exists():
            raise StoreError(
                f"no archive at {config.home}: nothing was imported or crawled there "
                "(`archive import FILE` or `archive crawl --source FILE` starts one)"
            )
        config.home.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = make_engine(config.database_url)
        except (exc.ArgumentError, exc.NoSuchModuleError) as error:
            raise StoreError(
                f"ARCHIVE_DATABASE_URL {config.database_url!r} is not a database this "
                f"installation can open ({error})"
            ) from error
        if migrate:
            upgrade(self.engine)
        #: sessions of this store, for a caller that commits when it chooses
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()
