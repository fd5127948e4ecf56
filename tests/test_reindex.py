"""``archive verify``, ``reindex`` and ``cat`` on the WARCs of real crawls of the local site:
the store lost and rebuilt from the WARC files alone, damage and orphans found, records
shown as stored."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli
import click
import pytest
from click.testing import CliRunner, Result
from sites import ARTICLES, Fixed, Gzip, LocalSite, html_page, standard_site
from sqlalchemy import select
from warcio.statusandheaders import StatusAndHeaders

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # before Python 3.14
    from backports import zstd  # type: ignore[import-not-found,no-redef]

from test_crawl import ARCHIVE, CAP, STANDARD  # noqa: E402 - the same crawl setup

from archive.cli.context import Context
from archive.cli.warcs import cat, reindex, verify
from archive.config import load_config
from archive.integrity.reindex import reindex as reindex_store
from archive.store.db import Store
from archive.store.models import Capture, LinkEvent, Resource
from archive.warc.stored import decoded_payload

# A page in another content-coding the crawl decodes, next to the standard site's gzip.
# (Not br: with pywb's brotlipy shadowing Brotli's module, Scrapy cannot decode it.)
CODED = {"/deflate": ("deflate", zlib.compress)}
PATHS = STANDARD + list(CODED)
CAPTURES, RESOURCES = 2 * len(PATHS), len(PATHS)
# Every column but job_id: jobs are runs of the crawler, which the WARCs do not record.
CAPTURE_FIELDS = [c.key for c in Capture.__table__.columns if c.key != "job_id"]
# What a crawl leaves on a resource; title, tags and the like come from `archive import`.
RESOURCE_FIELDS = [
    "resource_id",
    "number",
    "stable_id",
    "stable_id_source",
    "url",
    "url_key",
    "host",
    "link_state",
    "state_since",
    "consecutive_failures",
    "failure_kind",
    "last_failure_at",
    "last_checked_at",
    "last_ok_capture_id",
    "next_due_at",
]
# A body over the size cap is archived cut at the cap, but the crawl extracts its
# preview from all the bytes it received (a little more than the cap, and not the same
# amount each time): the rebuilt text is the archived bytes' text, the start of the
# crawl's, and the same in both captures.
TEXT_FIELDS = {
    "full_text",
    "full_text_preview",
    "content_length",
    "content_hash",
    "text_changed",
    "change_size",
}


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    return env | {
        "ARCHIVE_HOME": str(home),
        "ARCHIVE_ALLOW_PRIVATE": "1",
        "ARCHIVE_DOWNLOAD_DELAY": "0",
        "ARCHIVE_RETRY_BACKOFF": "0.05",
        "ARCHIVE_MAX_BODY_SIZE": str(CAP),
    }


def coded_page(path: str) -> bytes:
    return html_page(f"Sent as {path[1:]}", f"This page travelled {path[1:]}-encoded.").encode()


@dataclass(frozen=True)
class Crawled:
    home: Path
    base: str  # the site's root URL without the trailing slash

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """The standard site crawled twice: the second time unchanged pages become revisits.

    Crawled once per module; each test works on its own copy of the archive home.
    """
    root = tmp_path_factory.mktemp("crawled")
    home = root / "archive-home"
    with LocalSite(standard_site()) as site:
        for path, (coding, compress) in CODED.items():
            site.set(path, Fixed(compress(coded_page(path)), headers={"Content-Encoding": coding}))
        listing = root / "list.txt"
        listing.write_text("".join(site.url(p) + "\n" for p in PATHS))
        for args in (["--source", str(listing)], ["--all"]):
            result = subprocess.run(
                [ARCHIVE, "crawl", *args],
                env=clean_env(home),
                capture_output=True,
                text=True,
                timeout=240,
                check=False,
            )
            assert result.returncode == 0, result.stderr[-3000:]
        return Crawled(home, site.url("/")[:-1])


@pytest.fixture(autouse=True)
def no_archive_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own ARCHIVE_* (a real database URL, say) must never leak into a test.
    for name in list(os.environ):
        if name.startswith("ARCHIVE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def home(crawled: Crawled, tmp_path: Path) -> Path:
    copy = tmp_path / "archive-home"
    shutil.copytree(crawled.home, copy)
    return copy


class Archive:
    """The commands under a group built the way ``archive.cli.cli`` builds its context;
    every store a command opened is closed after it, so tests may delete the database."""

    def __init__(self, home: Path) -> None:
        self.env = {"ARCHIVE_HOME": str(home)}
        self.contexts: list[Context] = []

        @click.group()
        @click.pass_context
        def app(ctx: click.Context) -> None:
            ctx.obj = Context(None)
            self.contexts.append(ctx.obj)

        for command in (verify, reindex, cat):
            app.add_command(command)
        self.app = app

    def __call__(self, *args: str) -> Result:
        try:
            return CliRunner().invoke(self.app, list(args), env=self.env)
        finally:
            for ctx in self.contexts:
                if ctx._store is not None:
                    ctx._store.close()
            self.contexts.clear()


def open_store(home: Path) -> Store:
    return Store(load_config(home=home, database_url=""))


def snapshot(store: Store) -> dict[str, Any]:
    with store.session() as s:
        captures = {
            c.capture_id: {name: getattr(c, name) for name in CAPTURE_FIELDS}
            for c in s.scalars(select(Capture))
        }
        resources = {
            r.resource_id: {name: getattr(r, name) for name in RESOURCE_FIELDS}
            for r in s.scalars(select(Resource))
        }
        events = sorted(
            (e.resource_id, e.at, e.from_state, e.to_state, e.capture_id, e.reason)
            for e in s.scalars(select(LinkEvent))
        )
    return {"captures": captures, "resources": resources, "events": events}


def crawl_snapshot(home: Path) -> dict[str, Any]:
    store = open_store(home)
    try:
        return snapshot(store)
    finally:
        store.close()


def assert_same_captures(rebuilt: dict[str, Any], original: dict[str, Any]) -> None:
    assert rebuilt["captures"].keys() == original["captures"].keys()
    for capture_id, before in original["captures"].items():
        after = rebuilt["captures"][capture_id]
        assert after == before, capture_id


def assert_same_link_states(rebuilt: dict[str, Any], original: dict[str, Any]) -> None:
    assert rebuilt["resources"] == original["resources"]
    assert rebuilt["events"] == original["events"]


def by_path(snap: dict[str, Any], crawled: Crawled, path: str) -> list[dict[str, Any]]:
    found = [c for c in snap["captures"].values() if c["requested_url"] == crawled.url(path)]
    return sorted(found, key=lambda c: c["fetched_at"])


def delete_store_files(home: Path) -> None:
    for name in ("archive.sqlite3", "archive.sqlite3-wal", "archive.sqlite3-shm"):
        (home / name).unlink(missing_ok=True)


@pytest.mark.slow
def test_reindex_rebuilds_the_lost_store_from_the_warcs_alone(crawled: Crawled, home: Path) -> None:
    archive = Archive(home)
    checked = archive("verify")
    assert checked.exit_code == 0, checked.output
    assert "0 problems" in checked.stdout and "2 files" in checked.stdout

    original = crawl_snapshot(home)
    # The crawls cover what a rebuild has to get right.
    assert len(original["captures"]) == CAPTURES
    redirected = by_path(original, crawled, "/r1")
    assert [h["status"] for h in redirected[1]["redirect_chain"]] == [301, 302, 200]
    assert (
        redirected[1]["is_revisit"] and redirected[1]["revisit_of"] == redirected[0]["capture_id"]
    )
    assert len(by_path(original, crawled, "/error")[0]["redirect_chain"]) == 3  # retries
    assert by_path(original, crawled, "/big")[1]["truncated"]
    assert by_path(original, crawled, "/private/secret")[0]["error_class"] == "robots-blocked"
    assert sum(c["is_revisit"] for c in original["captures"].values()) == 9  # every unchanged 200

    delete_store_files(home)
    dry = archive("reindex", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would rebuild {CAPTURES}, 0 already present" in dry.stdout
    assert crawl_snapshot(home)["captures"] == {}

    rebuilt = archive("reindex")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"rebuilt {CAPTURES}, 0 already present; created {RESOURCES} resources" in rebuilt.stdout
    assert f"rebuilding captures: {CAPTURES}/{CAPTURES}" in rebuilt.stderr
    first = crawl_snapshot(home)
    assert_same_captures(first, original)
    assert_same_link_states(first, original)
    full = by_path(first, crawled, "/big")[0]["full_text"]
    assert len(full) == CAP  # the whole archived text, not the metadata record's 50 KB

    again = archive("reindex")
    assert again.exit_code == 0, again.output
    assert f"rebuilt 0, {CAPTURES} already present; created 0 resources" in again.stdout
    assert crawl_snapshot(home) == first

    checked = archive("verify", "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["problems"] == []


@pytest.mark.slow
def test_reindex_fills_an_empty_store_of_either_backend(crawled: Crawled, store: Store) -> None:
    shutil.copytree(crawled.home / "warcs", store.config.warc_dir)
    report = reindex_store(store)
    assert (report.captures_rebuilt, report.resources_created) == (CAPTURES, RESOURCES)
    assert report.missing_hops == report.skipped == 0 and not report.unreadable
    rebuilt, original = snapshot(store), crawl_snapshot(crawled.home)
    assert_same_captures(rebuilt, original)
    assert_same_link_states(rebuilt, original)
    assert reindex_store(store).captures_rebuilt == 0


@pytest.mark.slow
def test_a_corrupted_byte_is_named_by_verify_and_costs_reindex_one_record(
    crawled: Crawled, home: Path
) -> None:
    original = crawl_snapshot(home)
    damaged, revisit = by_path(original, crawled, "/plain")
    records = sum(1 for _ in warcio_records(home))
    path = home / "warcs" / damaged["warc_file"]
    data = bytearray(path.read_bytes())
    data[damaged["warc_offset"] + damaged["warc_length"] // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    archive = Archive(home)
    result = archive("verify")
    assert result.exit_code == 1, result.output
    assert f"{damaged['capture_id']}: {path.name}" in result.stdout  # the row's locator
    report = json.loads(archive("verify", "--json").stdout)
    assert not report["ok"]
    # One bad record, one file named; the records after it are still read and checked.
    assert {(p["kind"], p["file"]) for p in report["problems"]} == {
        ("damaged", path.name),
        ("locator", path.name),
    }
    assert report["records"] == records - 1

    delete_store_files(home)
    rebuilt = archive("reindex")
    assert rebuilt.exit_code == 1  # a capture's bytes are gone: say so
    assert f"error: {path.name}: bytes {damaged['warc_offset']} to" in rebuilt.stderr
    assert f"rebuilt {CAPTURES}," in rebuilt.stdout
    after = crawl_snapshot(home)["captures"]
    # Its row names the lost record; its text (and its revisit's) comes from the
    # metadata record's preview, which holds all of so short a page.
    lost = after[damaged["capture_id"]]
    assert lost["warc_record_id"] == damaged["warc_record_id"] and lost["warc_file"] is None
    for capture in (damaged, revisit):
        assert after[capture["capture_id"]]["full_text"] == capture["full_text"]
    assert after[revisit["capture_id"]]["warc_offset"] == revisit["warc_offset"]


def test_payloads_are_decoded_as_the_crawler_decodes_them() -> None:
    page = coded_page("/coded") * 50

    def headers(*codings: str) -> StatusAndHeaders:
        return StatusAndHeaders("200 OK", [("Content-Encoding", c) for c in codings], "HTTP/1.1")

    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    cases = {
        "gzip": gzip.compress(page),
        "x-gzip": gzip.compress(page),
        "deflate": zlib.compress(page),
        "br": brotli.compress(page),
        "zstd": zstd.compress(page),
    }
    for coding, body in cases.items():
        assert decoded_payload(body, headers(coding)) == page, coding
    # Raw deflate, as some servers send it; codings applied in turn are undone in turn.
    assert (
        decoded_payload(raw_deflate.compress(page) + raw_deflate.flush(), headers("deflate"))
        == page
    )
    twice = brotli.compress(gzip.compress(page))
    assert decoded_payload(twice, headers("gzip, br")) == page
    assert decoded_payload(twice, headers("gzip", "br")) == page
    # A coding nobody knows stops the decoding; no coding leaves the body alone.
    assert decoded_payload(gzip.compress(page), headers("gzip", "x-unknown")) == gzip.compress(page)
    assert decoded_payload(page, headers()) == page
    # A body cut at the size cap still yields what it holds.
    whole = gzip.compress(page)
    cut = decoded_payload(whole[: len(whole) // 2], headers("gzip"))
    assert cut and page.startswith(cut)


def warcio_records(home: Path) -> Iterator[str]:
    from warcio.archiveiterator import ArchiveIterator

    for path in sorted((home / "warcs").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                yield record.rec_type


KILLED_WRITER = """
import json, os, sys
from datetime import UTC, datetime
from archive.registry import ids
from archive.capture.record import Preview
from archive.warc import WarcWriter

directory, url, salt = sys.argv[1:]
writer = WarcWriter(directory)
# An exchange whose capture never got further than the wire.
writer.write_exchange(url=url + "?unfinished", status=200, response_body=b"half done")
body = b"Written just before the crash."
exchange = writer.write_exchange(
    url=url, status=200, response_headers=[("Content-Type", "text/plain")], response_body=body
)
resource_id = ids.resource_id_for(url)
number = ids.resource_number(resource_id)
now = datetime.now(UTC)
writer.write_metadata(url, exchange.response.record_id, None, {
    "resource_id": resource_id,
    "stable_id": ids.stable_id_for(number, salt),
    "capture_id": ids.capture_id_for(number, now, salt),
    "requested_url": url,
    "final_url": url,
    "http_status": 200,
    "redirect_chain": [url],
    "error_class": None,
    "error_message": None,
    "fetched_at": now.isoformat(),
    "duration_ms": 12,
    "preview": Preview(full_text=body.decode()).as_record(),
})
writer.flush()
with open(os.path.join(directory, writer.current_filename + ".open"), "ab") as torn:
    torn.write(b"\\x1f\\x8b\\x08\\x00 torn")  # the start of a record the crash cut off
os._exit(9)
"""


@pytest.mark.slow
def test_orphans_and_a_killed_writers_file_are_reported_then_restored(
    crawled: Crawled, home: Path
) -> None:
    original = crawl_snapshot(home)
    lost = by_path(original, crawled, "/plain")[1]["capture_id"]
    store = open_store(home)
    with store.session() as s:
        s.delete(s.get(Capture, lost))
    store.close()
    killed_url = crawled.url("/killed")
    salt = load_config(home=home).hashids_salt
    result = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(home / "warcs"), killed_url, salt],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 9, result.stderr

    archive = Archive(home)
    checked = archive("verify", "--json")
    assert checked.exit_code == 1, checked.output
    problems = {
        (p["kind"], p["capture_id"] or p["file"]) for p in json.loads(checked.stdout)["problems"]
    }
    [open_file] = [f for kind, f in problems if kind == "open-file"]
    assert open_file.endswith(".warc.gz.open")
    assert ("orphan-capture", lost) in problems

    rebuilt = archive("reindex")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"repaired {open_file.removesuffix('.open')}: truncated" in rebuilt.stderr
    assert f"rebuilt 2, {CAPTURES - 1} already present; created 1 resources" in rebuilt.stdout

    checked = archive("verify", "--json")
    assert checked.exit_code == 0, checked.output
    notes = json.loads(checked.stdout)["notes"]
    assert [n["kind"] for n in notes] == ["orphan-exchange"]
    assert notes[0]["message"].endswith(f"{killed_url}?unfinished belongs to no capture")

    after = crawl_snapshot(home)
    assert after["captures"][lost] == original["captures"][lost]
    [killed] = by_path(after, crawled, "/killed")
    assert killed["full_text"] == "Written just before the crash." and killed["http_status"] == 200
    assert after["resources"][killed["resource_id"]]["link_state"] == "alive"
    del after["resources"][killed["resource_id"]]
    after["events"] = [e for e in after["events"] if e[0] != killed["resource_id"]]
    assert_same_link_states(after, original)


@pytest.mark.slow
def test_cat_prints_the_decoded_page_and_the_record_as_stored(crawled: Crawled, home: Path) -> None:
    snap = crawl_snapshot(home)
    page = standard_site()["/gzip"]
    assert isinstance(page, Gzip)
    archive = Archive(home)
    first, revisit = (c["capture_id"] for c in by_path(snap, crawled, "/gzip"))

    for capture_id in (first, revisit):  # a revisit shows the payload it repeats
        shown = archive("cat", capture_id)
        assert shown.exit_code == 0, shown.output
        head, _, body = shown.stdout_bytes.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"Content-Encoding: gzip" in head
        assert body == page.content
        assert ARTICLES["/gzip"][0].encode() in body
        assert archive("cat", "--payload", capture_id).stdout_bytes == page.content

    for path in CODED:
        for capture in by_path(snap, crawled, path):
            shown = archive("cat", "--payload", capture["capture_id"])
            assert shown.stdout_bytes == coded_page(path), path

    raw = archive("cat", "--raw", first).stdout_bytes
    assert raw.startswith(b"WARC/1.1\r\nWARC-Type: response\r\n")
    assert page.body in raw and raw.endswith(page.body + b"\r\n\r\n")  # still compressed
    headers = archive("cat", "--headers", revisit).stdout_bytes
    assert headers.startswith(b"WARC/1.1\r\nWARC-Type: revisit\r\n")
    assert headers.endswith(b"\r\n\r\n") and b"HTTP/1.1 200" in headers

    unknown = archive("cat", "cap_nosuchcapture")
    assert unknown.exit_code == 1 and "no capture cap_nosuchcapture" in unknown.output
    [blocked] = by_path(snap, crawled, "/private/secret")[:1]
    failed = archive("cat", blocked["capture_id"])
    assert failed.exit_code == 1
    assert "has no WARC record: the fetch failed (robots-blocked" in failed.output
