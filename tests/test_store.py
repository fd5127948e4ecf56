"""The store itself: migrations match the models, SQLite runs in WAL with foreign keys."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sites import Fixed, LocalSite, html_page
from stores import _pg_schema_url

from archive.config import load_config
from archive.store.db import (
    MIGRATIONS,
    Store,
    alembic_config,
    make_engine,
    newest_revision,
    pending_migrations,
    upgrade_with_alembic,
)
from archive.store.fulltext import include_name
from archive.store.models import Base, Capture, Job, LinkEvent, Resource
from archive.store.snapshot import schema_statements, snapshot_revision

HEAD = ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://"))).get_current_head()


def test_migrations_build_exactly_the_models(store: Store) -> None:
    assert not pending_migrations(store.engine)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
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


def test_a_crawl_upgrades_a_store_made_by_an_older_version(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    """`archive crawl` on a store an older version made: its recorder migrates it first
    (the crawl's process never opens the store), then the crawl runs."""
    engine = make_engine(f"sqlite:///{archive_home / 'archive.sqlite3'}")
    command.upgrade(alembic_config(engine), "0001")
    engine.dispose()
    site.set("/a", Fixed(html_page("A page", "Some text of the page. " * 30).encode()))
    listing = tmp_path / "list.txt"
    listing.write_text(site.url("/a") + "\n")
    archive = str(Path(sys.executable).parent / "archive")
    done = subprocess.run(
        [archive, "crawl", "--source", str(listing)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("job 1: finished; http_2xx 1"), done.stdout
    with sqlite3.connect(archive_home / "archive.sqlite3") as conn:
        assert conn.execute("select version_num from alembic_version").fetchone() == (HEAD,)
        assert conn.execute("select count(*) from captures").fetchone() == (1,)


# -- 0003: a capture's time is its exchange's, not its crawl's start -------------------------

JOB_START = datetime(2026, 12, 2, 14, 25, 40, tzinfo=UTC)


def _at(**delta: float) -> datetime:
    return JOB_START + timedelta(**delta)


def _warc_date(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _resource(rid: str, number: int, **times: datetime | None) -> dict[str, Any]:
    url = f"https://example.org/{rid}"
    values: dict[str, Any] = {"resource_id": rid, "number": number, "stable_id": f"sid_{rid}"}
    values |= {"url": url, "url_key": url, "host": "example.org"}
    values |= {"first_seen_at": _at(days=-1), "last_seen_at": _at(days=-1)}
    return values | times


def _capture(
    cid: str, rid: str, fetched_at: datetime, record: datetime | None, **more: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {"capture_id": cid, "resource_id": rid, "job_id": 1}
    values |= {"requested_url": f"https://example.org/{rid}", "fetched_at": fetched_at}
    values["warc_date"] = _warc_date(record) if record else None
    return values | more


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for row in rows:  # one by one: the rows name different columns
        conn.execute(table.insert(), row)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The database URL of an empty store as the first release made it (schema 0001)."""
    if request.param == "sqlite":
        (tmp_path / "home").mkdir()
        yield f"sqlite:///{tmp_path / 'home' / 'archive.sqlite3'}"
        return
    schema = _pg_schema_url()
    yield next(schema)
    schema.close()


def test_a_store_timed_by_its_crawls_start_is_corrected_from_its_warcs(
    old_store_url: str, tmp_path: Path
) -> None:
    """Releases before 0003 gave every capture of a crawl the crawl's start; the migration
    takes each capture's time from its record's WARC-Date, and the resource's times that
    came from that check move with it."""
    engine = make_engine(old_store_url)
    command.upgrade(alembic_config(engine), "0001")
    t = Base.metadata.tables  # 0003 changes no column: today's tables insert 0001's rows
    with engine.begin() as conn:
        conn.execute(
            t["jobs"].insert(),
            [{"id": 1, "started_at": JOB_START}, {"id": 2, "started_at": _at(days=3)}],
        )
        _insert(
            conn,
            t["resources"],
            [
                # alive since its first check, two hours into the crawl
                _resource(
                    "alive",
                    1,
                    link_state="alive",
                    state_since=JOB_START,
                    last_checked_at=JOB_START,
                    next_due_at=_at(days=30),
                ),
                # refused before any exchange: no record to take a time from
                _resource(
                    "refused",
                    2,
                    link_state="unknown",
                    last_checked_at=JOB_START,
                    last_failure_at=JOB_START,
                    next_due_at=_at(hours=72),
                ),
                # a redirect, then the next hop failed: dated by the hop it left
                _resource(
                    "broken",
                    3,
                    link_state="unknown",
                    last_checked_at=JOB_START,
                    last_failure_at=JOB_START,
                    next_due_at=_at(hours=72),
                ),
                # checked in two crawls: gone since the first, checked last in the second
                _resource(
                    "gone",
                    4,
                    link_state="gone",
                    state_since=JOB_START,
                    last_checked_at=_at(days=3),
                    last_failure_at=_at(days=3),
                    next_due_at=_at(days=5),
                ),
            ],
        )
        _insert(
            conn,
            t["captures"],
            [
                _capture(
                    "cap_alive", "alive", JOB_START, _at(hours=2, seconds=1.5), http_status=200
                ),
                _capture("cap_refused", "refused", JOB_START, None, error_class="private-address"),
                _capture(
                    "cap_broken",
                    "broken",
                    JOB_START,
                    None,
                    error_class="dns",
                    redirect_chain=[
                        {
                            "url": "https://example.org/broken",
                            "status": 301,
                            "warc_date": _warc_date(_at(minutes=50)),
                        }
                    ],
                ),
                _capture("cap_gone1", "gone", JOB_START, _at(minutes=10), http_status=404),
                _capture(
                    "cap_gone2",
                    "gone",
                    _at(days=3),
                    _at(days=3, hours=1),
                    http_status=404,
                    job_id=2,
                ),
            ],
        )
        _insert(
            conn,
            t["link_events"],
            [
                {
                    "resource_id": "alive",
                    "at": JOB_START,
                    "from_state": "unknown",
                    "to_state": "alive",
                    "capture_id": "cap_alive",
                },
                {
                    "resource_id": "gone",
                    "at": JOB_START,
                    "from_state": "unknown",
                    "to_state": "gone",
                    "capture_id": "cap_gone1",
                },
            ],
        )
    engine.dispose()

    sqlite = old_store_url.startswith("sqlite")
    st = Store(load_config(home=tmp_path / "home", database_url="" if sqlite else old_store_url))
    with st.session() as s:
        assert s.scalar(sa.text("select version_num from alembic_version")) == HEAD
        fetched = {c.capture_id: c.fetched_at for c in s.scalars(sa.select(Capture))}
        assert fetched == {
            "cap_alive": _at(hours=2, seconds=1.5),
            "cap_refused": JOB_START,
            "cap_broken": _at(minutes=50),
            "cap_gone1": _at(minutes=10),
            "cap_gone2": _at(days=3, hours=1),
        }
        res = {r.resource_id: r for r in s.scalars(sa.select(Resource))}
        alive, refused, broken, gone = (res[k] for k in ("alive", "refused", "broken", "gone"))
        assert alive.state_since == alive.last_checked_at == _at(hours=2, seconds=1.5)
        assert alive.next_due_at == _at(days=30, hours=2, seconds=1.5)  # counted from the check
        assert refused.last_checked_at == refused.last_failure_at == JOB_START
        assert refused.next_due_at == _at(hours=72)
        assert broken.last_checked_at == broken.last_failure_at == _at(minutes=50)
        assert broken.next_due_at == _at(hours=72, minutes=50)  # still 72 h after the check
        assert gone.state_since == _at(minutes=10)
        assert gone.last_checked_at == gone.last_failure_at == _at(days=3, hours=1)
        assert gone.next_due_at == _at(days=5, hours=1)
        events = {e.capture_id: e.at for e in s.scalars(sa.select(LinkEvent))}
        assert events == {"cap_alive": _at(hours=2, seconds=1.5), "cap_gone1": _at(minutes=10)}
        assert s.get(Job, 1).started_at == JOB_START  # a job's start is what it was
    st.close()


def test_migration_files_are_named_by_their_revision() -> None:
    """Opening a store reads the newest revision from the file names (not Alembic's
    scripts, which cost a quarter of a second): each file must begin with its revision,
    and the newest be Alembic's head."""
    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    for revision in script.walk_revisions():
        assert Path(revision.path).name.startswith(f"{revision.revision}_")
    assert newest_revision() == script.get_current_head()
    assert len(list((MIGRATIONS / "versions").glob("[0-9]*_*.py"))) == len(
        list(script.walk_revisions())
    )


def test_a_new_sqlite_store_has_the_schema_its_migrations_make(tmp_path: Path) -> None:
    """A new SQLite store is made from archive/store/schema.sql in one script: the same
    schema, at the same revision, as Alembic running every migration."""
    stale = "archive/store/schema.sql is stale: python -m archive.store.make_snapshot"
    assert snapshot_revision() == newest_revision(), stale
    made = Store(load_config(home=tmp_path / "new", database_url=""))
    made.close()
    migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    upgrade_with_alembic(migrated)
    migrated.dispose()
    schemas = []
    for path in (tmp_path / "new" / "archive.sqlite3", tmp_path / "migrated.sqlite3"):
        db = sqlite3.connect(path)
        schemas.append(
            (schema_statements(db), db.execute("SELECT * FROM alembic_version").fetchall())
        )
        db.close()
    assert schemas[0] == schemas[1], stale
    assert schemas[0][1] == [(HEAD,)]
