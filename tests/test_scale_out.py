"""Scale out: three workers (separate processes and ARCHIVE_HOMEs) on one Redis frontier
and one PostgreSQL store, one of them SIGKILLed midway; and the errors of frontier mode."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from servers import ARCHIVE
from sites import Fixed, LocalSite
from stores import _pg_schema_url
from warcio.archiveiterator import ArchiveIterator
from warctools import assert_warcio_check, free_port

REDIS = os.environ.get("ARCHIVE_TEST_REDIS", "redis://127.0.0.1:6379/0")
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
PAGES_PER_HOST = 100
DELAY = 0.2
STYLE = b"body { color: #333 }"


def _page(n: int) -> Fixed:
    html = f"<html><head><title>Page {n}</title><link rel=stylesheet href=/style.css></head>"
    html += f"<body><p>Page {n} of a cited site, words to extract.</p></body></html>"
    return Fixed(html.encode())


@pytest.fixture
def hosts() -> Iterator[list[LocalSite]]:
    sites = []
    for host in HOSTS:
        routes = {f"/p{n}": _page(n) for n in range(PAGES_PER_HOST)}
        routes["/style.css"] = Fixed(STYLE, content_type="text/css")
        sites.append(LocalSite(routes, host=host).start())
    yield sites
    for site in sites:
        site.stop()


@pytest.fixture
def prefix() -> Iterator[str]:
    import redis

    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def pg_url() -> Iterator[str]:
    gen = _pg_schema_url()
    yield next(gen)
    gen.close()


def _env(tmp_path: Path, name: str, db: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    home = tmp_path / name
    home.mkdir(exist_ok=True)
    env.update(
        ARCHIVE_HOME=str(home),
        ARCHIVE_DATABASE_URL=db,
        ARCHIVE_ALLOW_PRIVATE="1",
        ARCHIVE_DOWNLOAD_DELAY=str(DELAY),
        ARCHIVE_CONCURRENCY_PER_HOST="1",
        ARCHIVE_FRONTIER_URL=REDIS,
        ARCHIVE_FRONTIER_PREFIX=prefix,
        ARCHIVE_FRONTIER_LEASE="3",
        ARCHIVE_WORKER_NAME=name,
        ARCHIVE_EXTRACT_WORKERS="1",
        ARCHIVE_RETRY_BACKOFF="0.05",
    )
    return env


def _archive(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCHIVE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _records(home: Path) -> list[tuple[str, str, str]]:
    """(file, WARC-Type, target URI) of every record in a worker's WARC files."""
    found = []
    for path in sorted((home / "warcs").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                found.append((path.name, record.rec_type, uri))
    return found


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_three_workers_share_one_crawl(
    tmp_path: Path, hosts: list[LocalSite], pg_url: str, prefix: str
) -> None:
    urls = [site.url(f"/p{n}") for site in hosts for n in range(PAGES_PER_HOST)]
    (tmp_path / "list.txt").write_text("\n".join(urls) + "\n")
    setup = _env(tmp_path, "setup", pg_url, prefix)
    assert _archive(setup, "import", str(tmp_path / "list.txt")).returncode == 0
    queued = _archive(setup, "enqueue", "--due")
    assert queued.returncode == 0, queued.stderr
    assert "300 queued" in queued.stdout

    names = ["w1", "w2", "w3"]
    workers = {}
    for name in names:
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed below
        workers[name] = subprocess.Popen(
            [ARCHIVE, "crawl", "--due"],
            env=_env(tmp_path, name, pg_url, prefix),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # w1 is killed once it has recorded some pages and holds leases on others
        deadline = time.monotonic() + 120
        while (tmp_path / "w1.log").read_text().count("[w1 ") < 20:
            assert workers["w1"].poll() is None, (tmp_path / "w1.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "w1 recorded nothing"
            time.sleep(0.1)
        workers["w1"].send_signal(signal.SIGKILL)
        for name in ("w2", "w3"):
            assert workers[name].wait(timeout=180) == 0, (tmp_path / f"{name}.log").read_text()[
                -3000:
            ]
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
        time.sleep(1)  # the killed worker's recorder closes its WARC file on EOF
        for process in workers.values():
            with contextlib.suppress(ProcessLookupError):  # its recorder, extractors
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT r.url, count(c.capture_id) FROM resources r "
                "LEFT JOIN captures c ON c.resource_id = r.resource_id GROUP BY r.url"
            )
        ).all()
        jobs = conn.execute(sa.text("SELECT status, settings FROM jobs ORDER BY id")).all()
    engine.dispose()
    # every page captured exactly once, in the rows...
    assert len(rows) == 300 and {count for _, count in rows} == {1}, rows
    # ... and in the WARCs: one capture (metadata) record per page across all workers
    records = [r for name in names for r in _records(tmp_path / name)]
    metadata = [uri.removeprefix("urn:metadata:") for _, kind, uri in records if kind == "metadata"]
    assert sorted(metadata) == sorted(urls)
    files = [p for name in names for p in (tmp_path / name / "warcs").glob("*.warc.gz")]
    assert len({p.name for p in files}) == len(files)  # names unique per worker
    assert_warcio_check(files)
    # the killed worker took part, and the others finished what it held
    w1_rows = [job for job in jobs if job.settings.get("frontier", {}).get("worker") == "w1"]
    assert w1_rows and w1_rows[0].status == "interrupted"  # said by the last worker
    finished = [job for job in jobs if job.status == "finished"]
    assert len(finished) == 2
    assert set(finished[-1].settings["frontier"]["workers"]) == set(names)
    # no two requests to one host closer than the delay, from whichever workers
    for site in hosts:
        times = sorted(r.time for r in site.requests)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) >= DELAY, (site.host, min(gaps))
        assert site.hits("/robots.txt") == 1  # once per host per crawl, shared
        assert all(site.hits(f"/p{n}") >= 1 for n in range(PAGES_PER_HOST))
    status = _archive(setup, "frontier", "status", "--json")
    state = json.loads(status.stdout)
    assert (state["queued"], state["leased"], state["done"]) == (0, 0, 300), state
    assert {w["name"] for w in state["workers"]} == set(names)
    shown = _archive(setup, "crawl", "--status").stdout
    assert "0 queued, 0 leased, 300 done (0 failed) of 300" in shown, shown
    assert all(f"  {name}: " in shown for name in names), shown


def test_frontier_refuses_sqlite(tmp_path: Path) -> None:
    env = _env(tmp_path, "solo", "", "test-sqlite")
    result = _archive(env, "crawl", "--due")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: frontier mode needs a PostgreSQL store shared by every worker: set "
        "ARCHIVE_DATABASE_URL=postgresql+psycopg://… (a SQLite store is one machine's file)"
    ]


def test_frontier_url_errors_name_the_setting(tmp_path: Path, pg_url: str) -> None:
    env = _env(tmp_path, "solo", pg_url, "test-bad")
    bad = _archive(env, "crawl", "--frontier", "http://nowhere")
    assert bad.returncode == 2
    assert "--frontier ARCHIVE_FRONTIER_URL='http://nowhere' is not valid" in bad.stderr
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    gone = _archive(env, "crawl", "--frontier", unreachable)
    assert gone.returncode == 2
    lines = gone.stderr.strip().splitlines()
    assert len(lines) == 1 and "ARCHIVE_FRONTIER_URL / --frontier" in lines[0], gone.stderr
