"""End to end: `archive crawl` against a local site, checked with warcio, cdxj-indexer and pywb."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sites import Drop, Fixed, Held, Large, LocalSite, Sequence, Slow, html_page
from sqlalchemy import select
from warctools import Wayback, assert_warcio_check, cdxj_index, warcio_index

from archive.config import load_config
from archive.store.db import Store
from archive.store.models import Capture, Resource
from archive.warc import Locator, verify_locator

ARCHIVE = str(Path(sys.executable).parent / "archive")
CAP = 1024 * 1024
STANDARD = [
    "/",
    "/plain",
    "/gzip",
    "/chunked",
    "/r1",
    "/missing",
    "/error",
    "/paper.pdf",
    "/cp1252",
    "/big",
    "/private/secret",
]
WORDS = [
    "archive",
    "citation",
    "source",
    "page",
    "link",
    "web",
    "news",
    "report",
    "study",
    "policy",
    "model",
    "data",
    "year",
    "city",
    "people",
    "government",
    "research",
    "safety",
    "company",
    "public",
    "market",
    "energy",
    "water",
    "school",
    "court",
]


def realistic_page(seed: int, size: int = 120_000) -> bytes:
    """A news-sized page of varied text (tiny test pages would make WARC overhead look huge)."""
    rng = random.Random(seed)
    paragraphs = []
    total = 0
    while total < size:
        words = " ".join(rng.choice(WORDS) + str(rng.randint(0, 999)) for _ in range(80))
        paragraphs.append(words.capitalize() + ".")
        total += len(words)
    return html_page(f"Story {seed}", "</p>\n<p>".join(paragraphs)).encode()


def crawl(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCHIVE, "crawl", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def write_list(path: Path, site: LocalSite, paths: list[str]) -> Path:
    path.write_text("".join(site.url(p) + "\n" for p in paths))
    return path


def open_store(home: Path) -> Store:
    return Store(load_config(home=home, database_url=""))


def captures_by_path(store: Store, site: LocalSite) -> dict[str, list[Capture]]:
    out: dict[str, list[Capture]] = {}
    with store.session() as s:
        for c in s.scalars(select(Capture).order_by(Capture.fetched_at)):
            out.setdefault(c.requested_url.removeprefix(site.url("/")[:-1]), []).append(c)
    return out


def warc_files(home: Path) -> list[Path]:
    return sorted((home / "warcs").glob("*.warc.gz"))


@pytest.fixture
def crawled(site: LocalSite, archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ARCHIVE_MAX_BODY_SIZE", str(CAP))
    listing = write_list(tmp_path / "list.txt", site, STANDARD)
    result = crawl("--source", str(listing))
    assert result.returncode == 0, result.stderr[-3000:]
    return open_store(archive_home)


@pytest.mark.slow
def test_crawl_writes_standard_warcs_that_pywb_replays(
    crawled: Store, site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    files = warc_files(archive_home)
    assert files and not list((archive_home / "warcs").glob("*.open"))
    assert_warcio_check(files)

    records = warcio_index(files)
    assert records[0]["warc-type"] == "warcinfo"
    every = cdxj_index(files, "--records", "all")  # cdxj-indexer reads every record
    assert sorted(int(line.fields["offset"]) for line in every) == sorted(
        int(r["offset"]) for r in records
    )
    replayable = {line.fields["offset"] for line in cdxj_index(files)}
    wire = [r for r in records if r["warc-type"] in ("response", "revisit")]
    assert {r["offset"] for r in wire} <= replayable  # and indexes each capture for replay

    caps = captures_by_path(crawled, site)
    assert set(caps) == set(STANDARD)
    assert all(len(v) == 1 for v in caps.values())  # one capture row per fetch attempt

    # Redirects: every hop archived, the capture ends on the final page.
    chain = caps["/r1"][0]
    assert [h["status"] for h in chain.redirect_chain] == [301, 302, 200]
    assert chain.final_url == site.url("/final") and chain.http_status == 200
    # Retries: each attempt at the 500 page is in the WARC, the capture keeps the last.
    error = caps["/error"][0]
    assert error.http_status == 500 and len(error.redirect_chain) == 3
    assert caps["/missing"][0].http_status == 404
    blocked = caps["/private/secret"][0]
    assert blocked.error_class == "robots-blocked" and site.hits("/private/secret") == 0
    big = caps["/big"][0]
    assert big.truncated and big.payload_length == CAP

    # The DB's locators point at exactly the records, and pywb replays the wire bytes.
    warcs = archive_home / "warcs"
    oks = [c for v in caps.values() for c in v if c.http_status == 200]
    for c in [c for v in caps.values() for c in v if c.warc_record_id]:
        check = verify_locator(
            warcs, Locator(c.warc_file, c.warc_offset, c.warc_length), c.warc_record_id
        )
        assert check, check.problem
    with Wayback(tmp_path / "pywb", files) as wb:
        for c in oks:
            path = c.final_url.removeprefix(site.url("/")[:-1])
            route = site.route(path)
            ts = c.warc_date.replace("-", "").replace(":", "").replace("T", "")[:14]
            replay = wb.get(c.final_url, ts, headers={"Accept-Encoding": "gzip"})
            assert replay.status == 200, (path, wb.log()[-2000:])
            expected = route.body[:CAP] if path == "/big" else route.body
            assert replay.body == expected, path


@pytest.mark.slow
def test_crawl_records_previews_and_link_states(crawled: Store, site: LocalSite) -> None:
    caps = captures_by_path(crawled, site)
    cp1252 = caps["/cp1252"][0]
    assert "é" in (cp1252.full_text or "") and "€" in (cp1252.full_text or "")
    assert "Hello PDF world" in (caps["/paper.pdf"][0].full_text or "")
    with crawled.session() as s:
        states = {
            r.url.removeprefix(site.url("/")[:-1]): r.link_state
            for r in s.scalars(select(Resource))
        }
    assert states["/plain"] == "alive"
    assert states["/private/secret"] == "blocked"
    assert states["/missing"] == "unknown"  # one 404 is not yet "gone"
    assert states["/r1"] == "redirected"


@pytest.mark.slow
def test_recrawl_of_unchanged_site_writes_revisits(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    paths = [f"/story/{i}" for i in range(12)]
    for i, path in enumerate(paths):
        site.set(path, Fixed(realistic_page(i)))
    listing = write_list(tmp_path / "list.txt", site, paths)
    assert crawl("--source", str(listing)).returncode == 0
    first = sum(p.stat().st_size for p in warc_files(archive_home))

    result = crawl("--all")
    assert result.returncode == 0, result.stderr[-3000:]
    files = warc_files(archive_home)
    added = sum(p.stat().st_size for p in files) - first
    assert added < 0.10 * first, (added, first)
    assert_warcio_check(files)
    revisits = [r for r in warcio_index(files) if r["warc-type"] == "revisit"]
    assert len(revisits) == len(paths)
    store = open_store(archive_home)
    with store.session() as s:
        second = s.scalars(select(Capture).where(Capture.is_revisit)).all()
        assert len(second) == len(paths)
        assert all(c.revisit_of and c.full_text for c in second)
        assert all(c.text_changed is False for c in second)
        for c in second:  # the preview is read back from the capture it repeats
            original = s.get(Capture, c.revisit_of)
            assert original is not None
            assert (c.page_title, c.full_text) == (original.page_title, original.full_text)
            assert c.extractor == original.extractor
    with Wayback(tmp_path / "pywb", files) as wb:  # a revisit replays the original payload
        c = second[0]
        ts = c.warc_date.replace("-", "").replace(":", "").replace("T", "")[:14]
        path = c.final_url.removeprefix(site.url("/")[:-1])
        assert wb.get(c.final_url, ts).body == site.route(path).body


def count_captures(home: Path) -> int:
    db = home / "archive.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("select count(*) from captures").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_killed_crawl_resumes_without_loss_or_doubles(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    paths = [f"/slow/{i}" for i in range(40)]
    for i, path in enumerate(paths):
        site.set(path, Slow(Fixed(realistic_page(i, 30_000)), 0.15))
    listing = write_list(tmp_path / "list.txt", site, paths)
    proc = subprocess.Popen(
        [ARCHIVE, "crawl", "--source", str(listing)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while count_captures(archive_home) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = count_captures(archive_home)
    assert 10 <= done_before < len(paths)

    result = crawl()  # what is due: the rest
    assert result.returncode == 0, result.stderr[-3000:]
    files = warc_files(archive_home)
    assert not list((archive_home / "warcs").glob("*.open"))
    assert_warcio_check(files)
    store = open_store(archive_home)
    warcs = archive_home / "warcs"
    with store.session() as s:
        caps = s.scalars(select(Capture)).all()
        assert sorted(c.requested_url for c in caps) == sorted(site.url(p) for p in paths)
        from archive.store.models import Job

        assert [j.status for j in s.scalars(select(Job).order_by(Job.id))] == [
            "interrupted",
            "finished",
        ]
        for c in caps:
            check = verify_locator(
                warcs, Locator(c.warc_file, c.warc_offset, c.warc_length), c.warc_record_id
            )
            assert check, check.problem


@pytest.mark.slow
def test_two_crawls_at_once_one_runs_the_other_waits_or_exits(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    paths = [f"/slow/{i}" for i in range(8)]
    gate = threading.Event()  # the first crawl's pages are answered once both were tried
    for i, path in enumerate(paths):
        site.set(path, Held(Fixed(realistic_page(i, 5_000)), gate))
    listing = write_list(tmp_path / "list.txt", site, paths)
    first = subprocess.Popen(
        [ARCHIVE, "crawl", "--source", str(listing)], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not (archive_home / "crawl.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    refused = crawl("--all")
    assert refused.returncode == 75
    assert "another crawl is running" in refused.stderr and "--wait" in refused.stderr
    queued = subprocess.Popen(
        [ARCHIVE, "crawl", "--all", "--wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(2)  # it starts, and waits behind the first
    gate.set()
    assert first.wait(timeout=120) == 0
    assert queued.wait(timeout=120) == 0, queued.communicate()[1][-2000:]
    store = open_store(archive_home)
    with store.session() as s:
        from archive.store.models import Job

        jobs = s.scalars(select(Job).order_by(Job.id)).all()
        assert [j.status for j in jobs] == ["finished", "finished"]
        assert jobs[0].finished_at <= jobs[1].started_at
        assert len(s.scalars(select(Capture)).all()) == 2 * len(paths)


@pytest.mark.slow
def test_machines_sharing_a_postgresql_store_take_turns(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    from stores import _pg_schema_url

    from archive.store.models import Job

    schema = _pg_schema_url()
    url = next(schema)
    paths = [f"/slow/{i}" for i in range(8)]
    gate = threading.Event()  # the first crawl's pages are answered once both were tried
    for i, path in enumerate(paths):
        site.set(path, Held(Fixed(realistic_page(i, 5_000)), gate))
    listing = write_list(tmp_path / "list.txt", site, paths)

    def env(machine: str) -> dict[str, str]:  # its own ARCHIVE_HOME, the shared database
        return {**os.environ, "ARCHIVE_HOME": str(tmp_path / machine), "ARCHIVE_DATABASE_URL": url}

    try:
        first = subprocess.Popen(
            [ARCHIVE, "crawl", "--source", str(listing)], env=env("a"), stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while not (tmp_path / "a" / "crawl.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        refused = subprocess.run(
            [ARCHIVE, "crawl", "--all"], env=env("b"), capture_output=True, text=True, timeout=120
        )
        assert refused.returncode == 75, refused.stderr[-2000:]
        assert f"another crawl is running on this store (pid {first.pid}" in refused.stderr
        queued = subprocess.Popen(
            [ARCHIVE, "crawl", "--all", "--wait"],
            env=env("b"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(2)  # it starts, and waits behind the first
        gate.set()
        assert first.wait(timeout=120) == 0
        assert queued.wait(timeout=240) == 0, queued.communicate()[1][-2000:]
        store = Store(load_config(home=tmp_path / "b", database_url=url))
        with store.session() as s:
            jobs = s.scalars(select(Job).order_by(Job.id)).all()
            assert [j.status for j in jobs] == ["finished", "finished"]
            assert jobs[0].finished_at <= jobs[1].started_at
        store.close()
    finally:
        schema.close()


@pytest.mark.slow
def test_paused_crawl_resumes_from_its_jobdir(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    paths = [f"/slow/{i}" for i in range(30)]
    for i, path in enumerate(paths):
        site.set(path, Slow(Fixed(realistic_page(i, 5_000)), 0.2))
    listing = write_list(tmp_path / "list.txt", site, paths)
    jobdir = tmp_path / "job"
    proc = subprocess.Popen(
        [ARCHIVE, "crawl", "--source", str(listing), "--jobdir", str(jobdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while count_captures(archive_home) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # Scrapy's pause: finish what is in flight, keep the queue
    proc.wait(timeout=120)
    paused_at = count_captures(archive_home)
    assert paused_at < len(paths)
    assert (jobdir / "requests.queue").exists()

    result = crawl("--jobdir", str(jobdir))
    assert result.returncode == 0, result.stderr[-3000:]
    store = open_store(archive_home)
    with store.session() as s:
        urls = sorted(c.requested_url for c in s.scalars(select(Capture)))
    assert urls == sorted(site.url(p) for p in paths)  # each exactly once
    assert all(site.hits(p) == 1 for p in paths)


@pytest.mark.slow
def test_manners_user_agent_retry_after_and_private_addresses(
    site: LocalSite, archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = Fixed(b"busy", status=503, headers={"Retry-After": "1"})
    site.set("/busy", Sequence([busy, Fixed(html_page("Back", "Served after a wait.").encode())]))
    listing = write_list(tmp_path / "list.txt", site, ["/busy"])
    assert crawl("--source", str(listing)).returncode == 0
    first, second = site.requests_to("/busy")
    assert second.time - first.time >= 1.0  # the server's Retry-After was honoured
    agent = first.headers["user-agent"]
    assert agent.startswith("cited-archive/") and "+https://" in agent
    store = open_store(archive_home)
    with store.session() as s:
        [cap] = s.scalars(select(Capture)).all()
        assert cap.http_status == 200 and [h["status"] for h in cap.redirect_chain] == [503, 200]

    # Without the explicit permission, a loopback target is refused before any byte is sent.
    monkeypatch.delenv("ARCHIVE_ALLOW_PRIVATE")
    site.set("/inside", Fixed(b"secret"))
    result = crawl("--url", site.url("/inside"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert site.hits("/inside") == 0
    with store.session() as s:
        cap = s.scalars(select(Capture).where(Capture.requested_url == site.url("/inside"))).one()
        assert cap.error_class == "private-address"

    # The command-line flags give the same permissions as the environment.
    result = crawl("--url", site.url("/private/secret"), "--allow-private", "--ignore-robots")
    assert result.returncode == 0, result.stderr[-2000:]
    # the log is the crawl's own: progress lines, no Scrapy banner or statistics dump
    assert "[1/1] cap_" in result.stderr and " -> 200" in result.stderr
    assert "Scrapy stats" not in result.stderr and "Enabled" not in result.stderr
    assert site.hits("/private/secret") == 1
    with store.session() as s:
        url = site.url("/private/secret")
        cap = s.scalars(select(Capture).where(Capture.requested_url == url)).one()
        assert cap.http_status == 200 and cap.page_title == "Staff rota"
    verbose = crawl("--url", site.url("/private/secret"), "--allow-private", "-v", "--json")
    assert "Dumping Scrapy stats" in verbose.stderr  # ... unless asked for
    summary = json.loads(verbose.stdout)  # and a summary scripts can read
    assert summary["status"] == "finished" and summary["counts"] == {"robots-blocked": 1}


@pytest.mark.slow
def test_failed_fetches_are_recorded_with_their_class(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    from warctools import free_port

    site.set("/hang", Slow(Fixed(b"too late"), 30))
    site.set("/drop", Drop())
    site.set("/huge", Large(3 * 1024 * 1024))
    closed = free_port()  # nothing listens there
    urls = {
        "refused": f"http://127.0.0.1:{closed}/page",
        "timeout": site.url("/hang"),
        "connection": site.url("/drop"),
        "too-large": site.url("/huge"),
        "dns": "http://no-such-host.invalid/page",
        "tls": site.url("/plain").replace("http://", "https://"),
    }
    listing = tmp_path / "list.txt"
    listing.write_text("".join(u + "\n" for u in urls.values()))
    result = crawl(
        "--source",
        str(listing),
        "-s",
        "DOWNLOAD_TIMEOUT=2",
        "-s",
        "DOWNLOAD_MAXSIZE=1048576",
        "-s",
        "RETRY_TIMES=0",
    )
    assert result.returncode == 0, result.stderr[-3000:]  # failed links are data
    store = open_store(archive_home)
    with store.session() as s:
        got = {c.requested_url: c for c in s.scalars(select(Capture))}
    for expected, url in urls.items():
        cap = got[url]
        assert cap.error_class == expected, (url, cap.error_class, cap.error_message)
        assert cap.error_message and cap.http_status is None
    files = warc_files(archive_home)
    assert_warcio_check(files)
    # Failed attempts are in the WARC too, as metadata records naming the error.
    failures = [r for r in warcio_index(files) if r["warc-type"] == "metadata"]
    assert len(failures) >= len(urls)


def test_a_capture_the_store_refuses_leaves_the_others_of_its_group(
    site: LocalSite, archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pages are answered together, so their rows meet in one commit of the recorder.
    gate = threading.Event()
    paths = [f"/story/{n}" for n in range(8)]
    for n, path in enumerate(paths):
        site.set(path, Held(Fixed(realistic_page(n, 5000)), gate))
    listing = write_list(tmp_path / "list.txt", site, paths)
    monkeypatch.setenv("ARCHIVE_CONCURRENCY_PER_HOST", "8")
    imported = subprocess.run([ARCHIVE, "import", str(listing)], capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    refused = site.url("/story/5")
    with sqlite3.connect(archive_home / "archive.sqlite3") as db:
        db.execute(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON captures "
            f"WHEN NEW.requested_url = '{refused}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    threading.Timer(2.0, gate.set).start()
    result = crawl("--all")
    assert result.returncode == 1, result.stderr[-3000:]
    assert f"could not record {refused}" in result.stderr
    got = captures_by_path(open_store(archive_home), site)
    assert sorted(got) == sorted(p for p in paths if p != "/story/5")
    assert all(c.http_status == 200 and c.warc_record_id for [c] in got.values())
    assert_warcio_check(warc_files(archive_home))


def test_a_meta_refresh_is_followed_in_any_encoding(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    refresh = '<html><head><meta http-equiv="Refresh" content="0; url=/landed"></head></html>'
    site.set("/moved", Fixed(refresh.encode()))
    site.set("/moved-16", Fixed(refresh.encode("utf-16"), content_type="text/html; charset=utf-16"))
    site.set("/landed", Fixed(realistic_page(1, 3000)))
    site.set("/stays", Fixed(html_page("Stays", "Refresh the page, it says: no tag.").encode()))
    listing = write_list(tmp_path / "list.txt", site, ["/moved", "/moved-16", "/stays"])
    result = crawl("--source", str(listing))
    assert result.returncode == 0, result.stderr[-3000:]
    got = captures_by_path(open_store(archive_home), site)
    for path in ("/moved", "/moved-16"):
        [capture] = got[path]
        assert capture.final_url == site.url("/landed"), path
        assert [hop["url"] for hop in capture.redirect_chain] == [
            site.url(path),
            site.url("/landed"),
        ]
    [stays] = got["/stays"]
    assert stays.final_url == site.url("/stays") and len(stays.redirect_chain) == 1
