"""The crawl lock: one crawl at a time per store, even when machines share a PostgreSQL store."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stores import _pg_schema_url

from archive.config import load_config
from archive.store.db import Store
from archive.store.locks import Busy, crawl_lock


@pytest.fixture
def shared_pg_url() -> Iterator[str]:
    gen = _pg_schema_url()
    yield next(gen)
    gen.close()


def machine(tmp_path: Path, name: str, url: str) -> Store:
    """One machine's view of the shared store: its own ARCHIVE_HOME, the same database."""
    return Store(load_config(home=tmp_path / name, database_url=url))


def test_second_machine_is_refused_while_the_first_crawls(tmp_path: Path, shared_pg_url: str):
    first, second = machine(tmp_path, "a", shared_pg_url), machine(tmp_path, "b", shared_pg_url)
    with (
        crawl_lock(first.config.home, store=first),
        pytest.raises(Busy, match="another crawl is running on this store.*--wait"),
        crawl_lock(second.config.home, store=second),
    ):
        pass
    with crawl_lock(second.config.home, store=second):  # released: the next one may go
        pass
    first.close()
    second.close()


def test_other_schemas_are_other_stores(tmp_path: Path, shared_pg_url: str):
    other = _pg_schema_url()
    one = machine(tmp_path, "a", shared_pg_url)
    two = machine(tmp_path, "b", next(other))
    with crawl_lock(one.config.home, store=one), crawl_lock(two.config.home, store=two):
        pass
    one.close()
    two.close()
    other.close()


def test_a_killed_holder_releases_the_lock(tmp_path: Path, shared_pg_url: str):
    holder = textwrap.dedent(
        f"""
        import sys, time
        from archive.config import load_config
        from archive.store.db import Store
        from archive.store.locks import crawl_lock
        store = Store(load_config(home={str(tmp_path / "a")!r}, database_url={shared_pg_url!r}))
        with crawl_lock(store.config.home, store=store):
            print("locked", flush=True)
            time.sleep(600)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        second = machine(tmp_path, "b", shared_pg_url)
        with pytest.raises(Busy), crawl_lock(second.config.home, store=second):
            pass
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10  # the server notices the closed connection
        with crawl_lock(second.config.home, store=second, wait=True, poll=0.1):
            assert time.monotonic() < deadline
        second.close()
    finally:
        proc.kill()


def test_waiting_queues_behind_the_holder(tmp_path: Path, shared_pg_url: str):
    first, second = machine(tmp_path, "a", shared_pg_url), machine(tmp_path, "b", shared_pg_url)
    script = textwrap.dedent(
        f"""
        import time
        from archive.config import load_config
        from archive.store.db import Store
        from archive.store.locks import crawl_lock
        store = Store(load_config(home={str(tmp_path / "b")!r}, database_url={shared_pg_url!r}))
        print("waiting", flush=True)
        with crawl_lock(store.config.home, store=store, wait=True, poll=0.05):
            print(time.time(), flush=True)
        """
    )
    with crawl_lock(first.config.home, store=first):
        waiter = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert waiter.stdout is not None and waiter.stdout.readline().strip() == "waiting"
        time.sleep(1.0)
        assert waiter.poll() is None  # still queued
        released = time.time()
    out, _ = waiter.communicate(timeout=30)
    assert float(out) >= released  # it got the lock only once the first let go
    first.close()
    second.close()
