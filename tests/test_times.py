"""A capture's time is when its request was sent, everywhere it is shown.

One crawl of 30 slow pages, paced by the download delay over some 20 s: each capture's
``fetched_at`` is its response record's WARC-Date (the moment the request left, not the
crawl's start nor the answer's arrival), and ``history --json``, the viewer, ``export
json`` and the Memento TimeMap all give that instant.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from servers import Server, get
from sites import Fixed, LocalSite, Redirect, Sequence, Slow, html_page
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_datetime

from archive.config import load_config
from archive.crawl.opening import Clock
from archive.store.db import Store
from archive.store.models import Capture, LinkEvent, Resource

ARCHIVE = str(Path(sys.executable).parent / "archive")
#: Each page answers after this long, so an answer's arrival is well after its sending.
ANSWER_DELAY = 1.0
#: Between two sends to the host; with jitter and AutoThrottle off, the crawl's pace:
#: 33 requests (robots.txt, 28 pages, a redirect's two hops, a retried page's two tries).
SEND_DELAY = 0.7
PAGES = [f"/p/{i}" for i in range(28)]
PATHS = [*PAGES, "/moved", "/flaky"]


def _page(title: str) -> Slow:
    return Slow(Fixed(html_page(title, f"The article called {title}.").encode()), ANSWER_DELAY)


def _routes() -> dict:
    routes = {path: _page(f"Page {path}") for path in PAGES}
    routes["/moved"] = Redirect("/landing")
    routes["/landing"] = _page("Landing")
    routes["/flaky"] = Sequence([Fixed(b"busy", status=503), _page("Flaky")])
    return routes


def run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [ARCHIVE, *args], capture_output=True, text=True, timeout=240, check=False, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def crawl(listing: Path, env: dict[str, str] | None = None) -> None:
    # Jitter and AutoThrottle off: the delay alone paces the sends, so the crawl's length
    # is known (about 33 x SEND_DELAY).
    pace = ("-s", "DOWNLOAD_DELAY_JITTER=0", "-s", "AUTOTHROTTLE_ENABLED=0")
    run("crawl", *pace, "--source", str(listing), env=env)


def warc_dates(home: Path) -> dict[str, tuple[str, datetime]]:
    """Every record of the crawl's WARCs: record id → (WARC-Type, WARC-Date)."""
    out = {}
    for path in sorted((home / "warcs").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for record in ArchiveIterator(f):
                date = record.rec_headers.get_header("WARC-Date")
                out[record.rec_headers.get_header("WARC-Record-ID")] = (
                    record.rec_type,
                    iso_date_to_datetime(date, tz_aware=True),
                )
                concurrent = record.rec_headers.get_header("WARC-Concurrent-To")
                if record.rec_type == "request" and concurrent:
                    out[f"request of {concurrent}"] = out[
                        record.rec_headers.get_header("WARC-Record-ID")
                    ]
    return out


@dataclass
class Crawled:
    site: LocalSite
    home: Path
    store: Store
    server: Server
    #: path → its one capture
    captures: dict[str, Capture]
    records: dict[str, tuple[str, datetime]]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    root = tmp_path_factory.mktemp("times")
    home = root / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp, LocalSite(_routes()) as site:
        for name in list(os.environ):
            if name.startswith("ARCHIVE_"):
                mp.delenv(name)
        mp.setenv("ARCHIVE_HOME", str(home))
        mp.setenv("ARCHIVE_ALLOW_PRIVATE", "1")
        mp.setenv("ARCHIVE_DOWNLOAD_DELAY", str(SEND_DELAY))
        mp.setenv("ARCHIVE_RETRY_BACKOFF", "0.05")
        listing = root / "list.txt"
        listing.write_text("".join(site.url(p) + "\n" for p in PATHS))
        crawl(listing)
        store = Store(load_config(home=home, database_url=""))
        server = Server(home, root / "serve.log", dict(os.environ))
        base = site.url("/")[:-1]
        with store.session() as s:
            caps = {c.requested_url.removeprefix(base): c for c in s.scalars(select(Capture))}
        try:
            yield Crawled(site, home, store, server, caps, warc_dates(home))
        finally:
            server.stop()
            store.close()


def test_each_capture_is_timed_by_the_sending_of_its_request(crawled: Crawled) -> None:
    caps = crawled.captures
    assert sorted(caps) == sorted(PATHS)
    for path, c in caps.items():
        kind, record_date = crawled.records[c.warc_record_id or ""]
        assert kind == "response" and c.warc_date
        assert abs(c.fetched_at - record_date) < timedelta(seconds=1), path
        assert crawled.records[f"request of {c.warc_record_id}"][1] == record_date
        # the server saw the request then, and answered ANSWER_DELAY later
        served = crawled.site.requests_to("/landing" if path == "/moved" else path)[-1]
        assert abs(record_date.timestamp() - served.time) < 0.5, path
        # the duration is the fetch's own, not the time since the crawl started
        assert c.duration_ms is not None
        assert ANSWER_DELAY * 1000 <= c.duration_ms < ANSWER_DELAY * 1000 + 2000, path
    times = sorted(c.fetched_at for c in caps.values())
    assert all(a < b for a, b in zip(times, times[1:], strict=False))
    assert times[-1] - times[0] >= timedelta(seconds=20), times[-1] - times[0]


def test_a_redirect_or_a_retry_is_timed_by_the_exchange_that_answered(crawled: Crawled) -> None:
    for path in ("/moved", "/flaky"):
        c = crawled.captures[path]
        first, last = c.redirect_chain[0], c.redirect_chain[-1]
        assert (first["status"], last["status"]) == ((302, 200) if path == "/moved" else (503, 200))
        assert last["record_id"] == c.warc_record_id and last["warc_date"] == c.warc_date
        assert crawled.records[first["record_id"]][1] < c.fetched_at


def test_the_resource_and_its_link_events_read_the_same_instant(crawled: Crawled) -> None:
    with crawled.store.session() as s:
        for res in s.scalars(select(Resource)):
            [event] = s.scalars(select(LinkEvent).where(LinkEvent.resource_id == res.resource_id))
            c = s.get(Capture, event.capture_id)
            assert c is not None
            assert res.last_checked_at == res.state_since == event.at == c.fetched_at


def _second(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_history_export_viewer_and_memento_show_the_same_instants(crawled: Crawled) -> None:
    caps = crawled.captures
    for path in [*PAGES[::7], "/moved", "/flaky"]:
        [entry] = json.loads(run("history", crawled.site.url(path), "--json"))
        assert entry["capture_id"] == caps[path].capture_id
        assert datetime.fromisoformat(entry["fetched_at"]) == caps[path].fetched_at
    exported = {e["url"]: e for e in json.loads(run("export", "json"))}
    for path, c in caps.items():
        entry = exported[crawled.site.url(path)]
        assert entry["last_fetched_at"] == _second(c.fetched_at) + "Z"
        assert entry["archive"]["last_good_capture"]["fetched_at"] == _second(c.fetched_at) + "Z"
        page = get(crawled.server.viewer, f"/capture/{c.capture_id}").text
        shown = f"{c.fetched_at:%Y-%m-%d %H:%M:%S} UTC in {c.duration_ms} ms"
        assert shown in page, path
    for path in PAGES:  # one memento each, dated as its capture
        timemap = get(crawled.server.replay, f"/archive/timemap/link/{crawled.site.url(path)}")
        assert timemap.status == 200
        [stamp] = re.findall(r'rel="[^"]*memento"; datetime="([^"]+)"', timemap.text)
        assert _second(parsedate_to_datetime(stamp)) == _second(caps[path].fetched_at), path


def test_the_crawl_clock_shifts_fetched_at_but_not_warc_date(
    crawled: Crawled, tmp_path: Path
) -> None:
    """``ARCHIVE_CLOCK`` moves the crawl's time (fetched_at, link states) and leaves the
    records on the wall clock; both clocks are read at the same moment."""
    reading = Clock("2030-01-01T00:00:00Z").reading()
    assert timedelta(0) <= reading.crawl - datetime(2030, 1, 1, tzinfo=UTC) < timedelta(seconds=1)
    assert abs(reading.wall - datetime.now(UTC)) < timedelta(seconds=1)
    wall = Clock(None).reading()
    assert wall.crawl == wall.wall
    home = tmp_path / "shifted"
    listing = tmp_path / "list.txt"
    listing.write_text("".join(crawled.site.url(p) + "\n" for p in PAGES[:3]))
    env = {**os.environ, "ARCHIVE_HOME": str(home), "ARCHIVE_CLOCK": "2030-01-01T00:00:00Z"}
    started = datetime.now(UTC)
    crawl(listing, env)
    store = Store(load_config(home=home, database_url=""))
    with store.session() as s:
        caps = list(s.scalars(select(Capture)))
    store.close()
    records = warc_dates(home)
    offsets = [c.fetched_at - records[c.warc_record_id or ""][1] for c in caps]
    assert len(caps) == 3 and max(offsets) - min(offsets) < timedelta(milliseconds=50)
    assert all(c.fetched_at.year == 2030 for c in caps)
    assert all(started <= records[c.warc_record_id or ""][1] <= datetime.now(UTC) for c in caps)
