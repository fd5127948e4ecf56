"""Hostile servers: decompression bombs, an endless body, a body that stalls half-way.

Each is crawled by a real ``archive crawl`` beside two good pages of a local site. The
crawl must end on its own, its process tree staying well under 1 GB; the hostile fetch
is recorded (cut and marked truncated, or with the error that stopped it) and its bytes
archived as they came; the WARC passes ``warcio check``; the good pages get their
previews. Stored bombs must not blow up what reads payloads back either: the payload
decoder, ``archive cat --payload``, the viewer's decoded download, ``reindex``, and
``archive extract`` of a local ``.gz`` file.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import brotli
import pytest
from hostile import BOMBS, Measured, RawServer, endless, file_body, run_measured, stalls
from sites import ARTICLES, LocalSite
from sqlalchemy import select
from warctools import assert_warcio_check, warcio_index

from archive.capture.record import FetchOutcome, new_capture_id, record_capture
from archive.capture.schema import Hop
from archive.config import load_config
from archive.inspect.payload import capture_payload
from archive.registry.importer import Importer
from archive.store.db import Store
from archive.store.models import Capture, Resource
from archive.warc import WarcWriter
from archive.warc.codings import MAX_DECODED
from archive.warc.stored import TooLargeToDecode

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # before Python 3.14: the backport Scrapy depends on
    from backports import zstd  # type: ignore[import-not-found,no-redef]

ARCHIVE = str(Path(sys.executable).parent / "archive")
#: Content-Encoding -> how a body is put in it.
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstd.compress,
}
#: The bound on the crawl's process tree (the bombs inflate to 1 GiB each).
MEMORY_LIMIT = 1_000_000_000
GOOD_PAGES = ("/plain", "/gzip")
HTML = ("Content-Type", "text/html; charset=utf-8")


@pytest.fixture(scope="session")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The bomb of a Content-Encoding (1 GiB once inflated), built on first use and kept
    for the session."""
    directory = tmp_path_factory.mktemp("bombs")
    built: dict[str, Path] = {}

    def get(coding: str) -> Path:
        if coding not in built:
            built[coding] = BOMBS[coding](directory / f"bomb.{coding}")
        return built[coding]

    return get


def crawl(tmp_path: Path, urls: list[str], *args: str) -> Measured:
    listing = tmp_path / "list.txt"
    listing.write_text("".join(url + "\n" for url in urls))
    return run_measured([ARCHIVE, "crawl", "--source", str(listing), *args], timeout=180)


def captures(home: Path) -> dict[str, Capture]:
    store = Store(load_config(home=home, database_url=""))
    try:
        with store.session() as s:
            return {c.requested_url: c for c in s.scalars(select(Capture))}
    finally:
        store.close()


def warc_files(home: Path) -> list[Path]:
    return sorted((home / "warcs").glob("*.warc.gz"))


def sha1_digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def assert_sound_crawl(result: Measured, home: Path, site: LocalSite, name: str) -> None:
    """What every hostile crawl must come to, whatever the hostile page did."""
    print(f"\n{name}: peak RSS {result.peak_rss / 1e6:.0f} MB, {result.seconds:.1f} s")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.peak_rss < MEMORY_LIMIT, f"{result.peak_rss / 1e6:.0f} MB"
    assert_warcio_check(warc_files(home))
    got = captures(home)
    for path in GOOD_PAGES:
        good = got[site.url(path)]
        title, text = ARTICLES[path]
        assert good.http_status == 200 and good.page_title == title, path
        assert good.full_text and text in good.full_text, path


def show(url: str) -> dict:
    result = run_measured([ARCHIVE, "show", url, "--json"], timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- crawling hostile servers --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_decompression_bomb_is_archived_as_received_and_not_inflated(
    coding: str,
    bomb: Callable[[str], Path],
    site: LocalSite,
    archive_home: Path,
    tmp_path: Path,
) -> None:
    body = bomb(coding).read_bytes()
    with RawServer({"/bomb": file_body(bomb(coding), [HTML, ("Content-Encoding", coding)])}) as raw:
        url = raw.url("/bomb")
        result = crawl(tmp_path, [url, *(site.url(p) for p in GOOD_PAGES)])
    assert_sound_crawl(result, archive_home, site, f"{coding} bomb")
    hostile = captures(archive_home)[url]
    assert hostile.error_class == "too-large", hostile.error_message
    assert f"its {coding} coding decodes to more than {MAX_DECODED} bytes" in (
        hostile.error_message or ""
    )
    # The whole answer is in the WARC as it came, its digest the bytes sent; no preview.
    assert hostile.warc_record_id and hostile.payload_length == len(body)
    assert hostile.payload_digest == sha1_digest(body) and not hostile.truncated
    assert hostile.full_text is None
    [card] = show(url)["captures"]
    assert card["error_class"] == "too-large" and card["payload_length"] == len(body)


@pytest.mark.slow
def test_a_gzip_bomb_in_the_archive_is_not_inflated_by_reindex_or_export(
    bomb: Callable[[str], Path], site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    with RawServer({"/bomb": file_body(bomb("gzip"), [HTML, ("Content-Encoding", "gzip")])}) as raw:
        url = raw.url("/bomb")
        result = crawl(tmp_path, [url, site.url("/plain")])
    assert result.returncode == 0, result.stderr[-3000:]
    (archive_home / "archive.sqlite3").unlink()  # the store is lost: rebuilt from the WARCs
    rebuilt = run_measured([ARCHIVE, "reindex"], timeout=120)
    print(f"\nreindex: peak RSS {rebuilt.peak_rss / 1e6:.0f} MB, {rebuilt.seconds:.1f} s")
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert rebuilt.peak_rss < MEMORY_LIMIT
    got = captures(archive_home)
    assert got[url].error_class == "too-large" and got[url].full_text is None
    assert got[site.url("/plain")].page_title == ARTICLES["/plain"][0]
    wacz = tmp_path / "archive.wacz"
    exported = run_measured([ARCHIVE, "export", "wacz", "-o", str(wacz)], timeout=120)
    print(f"export wacz: peak RSS {exported.peak_rss / 1e6:.0f} MB, {exported.seconds:.1f} s")
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert exported.peak_rss < MEMORY_LIMIT
    with zipfile.ZipFile(wacz) as package:
        names = package.namelist()
        pages = package.read("pages/pages.jsonl").decode()
    assert [n for n in names if n.endswith(".warc.gz")]  # its WARC, the bomb in it as stored
    assert ARTICLES["/plain"][0] in pages


@pytest.mark.slow
def test_an_endless_body_is_cut_at_the_cap_and_archived_truncated(
    site: LocalSite, archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 512 * 1024  # small: extracting 50 MB of paragraphs is another matter
    monkeypatch.setenv("ARCHIVE_MAX_BODY_SIZE", str(cap))
    with RawServer({"/endless": endless()}) as raw:
        url = raw.url("/endless")
        result = crawl(tmp_path, [url, *(site.url(p) for p in GOOD_PAGES)])
    assert_sound_crawl(result, archive_home, site, "endless body")
    hostile = captures(archive_home)[url]
    assert hostile.error_class is None and hostile.http_status == 200
    assert hostile.truncated and hostile.payload_length == cap
    assert hostile.page_title == "Endless"  # the preview of what was kept
    cut = [
        r
        for r in warcio_index(warc_files(archive_home), "warc-type,warc-target-uri,warc-truncated")
        if r.get("warc-target-uri") == url and r["warc-type"] == "response"
    ]
    assert [r.get("warc-truncated") for r in cut] == ["length"]


@pytest.mark.slow
def test_a_body_that_stalls_half_way_times_out_and_the_crawl_ends(
    site: LocalSite, archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_TIMEOUT", "3")
    with RawServer({"/stalls": stalls()}) as raw:
        url = raw.url("/stalls")
        result = crawl(tmp_path, [url, *(site.url(p) for p in GOOD_PAGES)], "-s", "RETRY_TIMES=1")
        assert len(raw.received["/stalls"]) == 2  # the first try and one retry
    assert_sound_crawl(result, archive_home, site, "stalled body")
    assert result.seconds < 60
    hostile = captures(archive_home)[url]
    assert hostile.error_class == "timeout" and hostile.http_status is None
    assert hostile.error_message


# -- the crawl's decompression, without a crawl ----------------------------------------------


def test_the_crawl_decodes_through_the_capped_middleware() -> None:
    import settings

    middlewares = settings.DOWNLOADER_MIDDLEWARES
    assert (
        middlewares["scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"]
        is None
    )
    assert middlewares["crawler.compression.HttpCompressionMiddleware"] == 590


@pytest.mark.parametrize("coding", list(BOMBS))
def test_the_crawls_decompression_stops_at_the_body_cap(
    coding: str, bomb: Callable[[str], Path]
) -> None:
    from scrapy import Request
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler

    from crawler.compression import DecodedTooLarge, HttpCompressionMiddleware

    crawler = get_crawler(settings_dict={"ARCHIVE_MAX_BODY_SIZE": 1024 * 1024})
    middleware = HttpCompressionMiddleware.from_crawler(crawler)
    url = "http://bombs.test/page"
    body = bomb(coding).read_bytes()
    answer = Response(url, body=body, headers={"Content-Encoding": coding})
    with pytest.raises(DecodedTooLarge) as raised:
        middleware.process_response(Request(url), answer)
    assert raised.value.response is answer  # the capture points at the response received
    assert f"its {coding} coding decodes to more than 1048576 bytes" in str(raised.value)
    # A page under the cap is decoded, br too (Scrapy's own decoder cannot, beside brotlipy).
    page = b"<!doctype html><title>Fine</title>" + b"<p>fine</p>" * 1000
    small = Response(url, body=ENCODERS[coding](page), headers={"Content-Encoding": coding})
    decoded = middleware.process_response(Request(url), small)
    assert decoded.body == page and b"Content-Encoding" not in decoded.headers


# -- reading stored bombs back ----------------------------------------------------------------


@pytest.fixture
def stored_bombs(
    bomb: Callable[[str], Path], archive_home: Path, tmp_path: Path
) -> Iterator[tuple[Store, dict[str, str]]]:
    """A capture of each bomb (its id by coding), its response in a WARC as the crawler
    writes it."""
    urls = {coding: f"http://bombs.test/{coding}" for coding in BOMBS}
    store = Store(load_config(home=archive_home, database_url=""))
    listing = tmp_path / "bombs.txt"
    listing.write_text("".join(u + "\n" for u in urls.values()))
    fetched = datetime.now(UTC)
    Importer(store, now=fetched).import_file(listing)
    out: dict[str, str] = {}
    with WarcWriter(store.config.warc_dir) as writer, store.session() as s:
        for coding, url in urls.items():
            body = bomb(coding).read_bytes()
            written = writer.write_exchange(
                url=url,
                status=200,
                response_headers=[HTML, ("Content-Encoding", coding)],
                response_body=body,
            ).response
            resource = s.scalars(select(Resource).where(Resource.url == url)).one()
            hop = Hop(
                url=url,
                status=200,
                record_id=written.record_id,
                warc_date=written.warc_date,
                warc_file=written.locator.filename,
                offset=written.locator.offset,
                length=written.locator.length,
                payload_digest=written.payload_digest,
                payload_length=len(body),
            )
            outcome = FetchOutcome(
                capture_id=new_capture_id(s, resource, fetched, store.config.hashids_salt),
                resource_id=resource.resource_id,
                requested_url=url,
                fetched_at=fetched,
                final_url=url,
                http_status=200,
                content_type=HTML[1],
                hops=[hop],
            )
            outcome.answered_by(hop)
            out[coding] = record_capture(s, outcome, refresh_days=30).capture_id
    try:
        yield store, out
    finally:
        store.close()


@pytest.mark.parametrize("coding", list(BOMBS))
def test_the_payload_decoder_stops_at_the_cap(
    coding: str, stored_bombs: tuple[Store, dict[str, str]], bomb: Callable[[str], Path]
) -> None:
    store, stored = stored_bombs
    with store.session() as s, pytest.raises(TooLargeToDecode) as raised:
        capture = s.get(Capture, stored[coding])
        assert capture is not None
        capture_payload(s, store.config.warc_dir, capture, max_size=1024 * 1024)
    assert f"its {coding} coding decodes to more than 1048576 bytes" in str(raised.value)
    assert raised.value.stored == bomb(coding).read_bytes()  # what there is to show instead


@pytest.mark.parametrize("coding", list(BOMBS))
def test_cat_payload_of_a_bomb_shows_it_as_stored_and_says_why(
    coding: str,
    stored_bombs: tuple[Store, dict[str, str]],
    bomb: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    _, stored = stored_bombs
    out = tmp_path / "payload"
    result = run_measured([ARCHIVE, "cat", stored[coding], "--payload", "-o", out], timeout=60)
    print(f"\ncat --payload of the {coding} bomb: peak RSS {result.peak_rss / 1e6:.0f} MB")
    assert result.returncode == 0, result.stderr
    assert result.peak_rss < 500_000_000 and result.seconds < 30
    assert "payload shown as stored" in result.stderr
    assert f"its {coding} coding decodes to more than {MAX_DECODED} bytes" in result.stderr
    assert out.read_bytes() == bomb(coding).read_bytes()


def test_the_viewer_gives_a_bomb_as_stored_when_asked_for_it_decoded(
    stored_bombs: tuple[Store, dict[str, str]], bomb: Callable[[str], Path]
) -> None:
    from werkzeug.test import Client

    from archive.web.app import Viewer

    store, stored = stored_bombs
    client = Client(Viewer(store, replay_port=8601, replay=False))
    reply = client.get(f"/capture/{stored['gzip']}/payload?decoded=1")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/gzip"  # a .gz download
    assert reply.get_data() == bomb("gzip").read_bytes()


def test_archive_extract_of_a_gzipped_bomb_stops_at_the_cap(
    bomb: Callable[[str], Path], tmp_path: Path
) -> None:
    from archive.extract import extract_file

    page = tmp_path / "page.html.gz"
    page.write_bytes(bomb("gzip").read_bytes())
    assert extract_file(page).kind == "none"  # not read: it gunzips to 1 GiB
