"""One crawl at a time per store.

Two locks, both released by the system when their holder dies (even by SIGKILL), so a killed
crawl never leaves a stale lock behind:

- a ``flock`` on ``$ARCHIVE_HOME/crawl.lock``, for the WARC directory and the SQLite store;
- on PostgreSQL, a session advisory lock in the database as well, keyed on the schema: several
  machines (each with its own ARCHIVE_HOME) may share one PostgreSQL store, and their crawls
  must not overlap either. The lock lives as long as the connection holding it.

A worker of a shared crawl (``worker``, frontier mode) takes the store's lock shared, and
its own name's exclusively: workers crawl together, two processes never under one name,
and a single-machine crawl never runs beside them (it takes the store's exclusively).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from archive.config import Config

if TYPE_CHECKING:  # SQLAlchemy only for a PostgreSQL store: the file lock needs none
    from sqlalchemy import Connection

    from archive.store.db import Store

# hashtextextended gives a stable 64-bit key per schema (PostgreSQL 11+).
_KEY = "hashtextextended(current_schema() || '/cited-archive crawl', 0)"
_WORKER_KEY = "hashtextextended(current_schema() || '/cited-archive crawl/' || :worker, 0)"


class Busy(RuntimeError):
    """Another crawl holds the store's lock."""


def lock_store(config: Config) -> Store | None:
    """The store a crawl's lock needs open: a PostgreSQL one (its advisory lock lives in
    a connection). None for SQLite, which the file lock covers with no connection at all
    (and no SQLAlchemy in the crawl's process)."""
    if not config.on_postgresql:
        return None
    from archive.store.db import Store

    return Store(config)


@contextmanager
def crawl_lock(
    home: Path,
    wait: bool = False,
    poll: float = 0.5,
    store: Store | None = None,
    worker: str | None = None,
) -> Iterator[None]:
    """Hold the store's crawl lock, or raise Busy (``wait``: poll until it is free)."""
    with _file_lock(home, wait, poll), _database_lock(store, wait, poll, worker):
        yield


@contextmanager
def _file_lock(home: Path, wait: bool, poll: float) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "crawl.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    holder = path.read_text().strip() or "another process"
                    raise Busy(
                        f"another crawl is running on {home} ({holder}); "
                        "wait for it, or pass --wait to queue behind it"
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


@contextmanager
def _database_lock(
    store: Store | None, wait: bool, poll: float, worker: str | None
) -> Iterator[None]:
    if store is None or store.engine.dialect.name != "postgresql":
        yield  # SQLite lives under ARCHIVE_HOME: the file lock covers it
        return
    from sqlalchemy import text

    conn = store.engine.connect()
    locks = [(f"pg_try_advisory_lock({_KEY})", f"pg_advisory_unlock({_KEY})")]
    if worker is not None:
        locks = [
            (f"pg_try_advisory_lock_shared({_KEY})", f"pg_advisory_unlock_shared({_KEY})"),
            (f"pg_try_advisory_lock({_WORKER_KEY})", f"pg_advisory_unlock({_WORKER_KEY})"),
        ]
    params = {"worker": worker or ""}
    try:
        for take, _ in locks:
            while not conn.execute(text(f"SELECT {take}"), params).scalar():
                if not wait:
                    raise Busy(
                        f"another crawl is running on this store ({_holder(conn, worker)}); "
                        "wait for it, or pass --wait to queue behind it"
                    )
                time.sleep(poll)
            conn.commit()  # the lock is the session's, not the transaction's
        yield
        for _, release in reversed(locks):
            conn.execute(text(f"SELECT {release}"), params)
        conn.commit()
    except BaseException:
        # the pool would keep this session, and its lock, alive: really close it
        conn.invalidate()
        raise
    finally:
        conn.close()


def _holder(conn: Connection, worker: str | None = None) -> str:
    """Who holds the lock, from the running job's row (the crawl records host and pid)."""
    from sqlalchemy import select

    from archive.store.models import Job

    conn.rollback()
    if worker is not None:
        return f"a single-machine crawl, or another worker named {worker}"
    row = conn.execute(
        select(Job.host, Job.pid)
        .where(Job.status == "running")
        .order_by(Job.started_at.desc())
        .limit(1)
    ).first()
    conn.rollback()
    return f"pid {row.pid} on {row.host}" if row else "a crawl on another machine"
