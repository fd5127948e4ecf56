"""The capture record's one definition: what a crawl writes into its metadata records
reads back through the schema as exactly what the capture row holds."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sites import LocalSite, standard_site
from sqlalchemy import select
from test_crawl import ARCHIVE, open_store
from warcio.archiveiterator import ArchiveIterator

from archive.capture.preview import Preview
from archive.capture.schema import PREVIEW_FIELDS, CaptureRecord, Hop, PreviewRecord
from archive.extract import PAGE_FIELDS, Extraction
from archive.extract.metadata import Metadata
from archive.store.models import Capture, Resource

# A page, a redirect chain ending in a page, a 404 and a 500 retried to the end.
PATHS = ["/", "/r1", "/missing", "/error"]

HOP = Hop(
    url="https://example.org/a",
    status=301,
    location="/b",
    record_id="<urn:uuid:00000000-0000-0000-0000-000000000001>",
    warc_date="2026-01-02T03:04:05.000006Z",
    warc_file="archive-20260102030405-00000-example.org.warc.gz",
    offset=1234,
    length=567,
    payload_digest="sha1:AAAA",
    payload_length=0,
    revisit_of_record=None,
    truncated=False,
)


def metadata_records(home: Path) -> dict[str, tuple[bytes, str | None]]:
    """Each capture's metadata record block as written, and its WARC-Refers-To."""
    out: dict[str, tuple[bytes, str | None]] = {}
    for path in sorted((home / "warcs").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "metadata":
                    block = record.content_stream().read()
                    refers_to = record.rec_headers.get_header("WARC-Refers-To")
                    out[json.loads(block)["capture_id"]] = (block, refers_to)
    return out


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pages crawled twice (the second time the unchanged ones are revisits)."""
    root = tmp_path_factory.mktemp("record")
    home = root / "archive-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env |= {
        "ARCHIVE_HOME": str(home),
        "ARCHIVE_ALLOW_PRIVATE": "1",
        "ARCHIVE_DOWNLOAD_DELAY": "0",
        "ARCHIVE_RETRY_BACKOFF": "0.05",
    }
    with LocalSite(standard_site()) as site:
        listing = root / "list.txt"
        listing.write_text("".join(site.url(p) + "\n" for p in PATHS))
        for args in (["--source", str(listing)], ["--all"]):
            result = subprocess.run(
                [ARCHIVE, "crawl", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=240,
                check=False,
            )
            assert result.returncode == 0, result.stderr[-3000:]
    return home


def _row_matches_record(row: Capture, stable_id: str, record: CaptureRecord) -> None:
    for name in ("capture_id", "resource_id", "requested_url", "final_url", "http_status"):
        assert getattr(record, name) == getattr(row, name), name
    for name in ("content_type", "payload_length", "payload_digest", "truncated"):
        assert getattr(record, name) == getattr(row, name), name
    for name in ("is_revisit", "revisit_of", "warc_date", "error_class", "error_message"):
        assert getattr(record, name) == getattr(row, name), name
    assert record.job_id == row.job_id and record.duration_ms == row.duration_ms
    assert record.fetched_at == row.fetched_at and record.stable_id == stable_id
    assert record.fetch_method == "scrapy" and row.fetch_method in (None, "scrapy")
    # The hops are the row's redirect chain column; the record's chain their URLs.
    assert [hop.to_json() for hop in record.hops] == row.redirect_chain
    assert record.hop_urls == [hop["url"] for hop in row.redirect_chain]
    final = record.hops[-1] if record.hops and record.http_status is not None else None
    assert (final.record_id if final else None) == row.warc_record_id
    if final is not None:
        assert (final.warc_file, final.offset, final.length) == (
            row.warc_file,
            row.warc_offset,
            row.warc_length,
        )
    preview = record.preview
    if preview is None:
        assert row.extractor is None and row.full_text is None
        return
    assert preview.page_metadata() == {name: getattr(row, name) for name in PREVIEW_FIELDS}
    assert preview.extractor == row.extractor and preview.content_hash == row.content_hash
    assert preview.content_length == (row.content_length or 0)
    if preview.preview_of is None:
        assert preview.full_text_preview == (row.full_text_preview or "")


@pytest.mark.slow
def test_metadata_records_read_back_as_the_capture_rows(crawled: Path) -> None:
    records = metadata_records(crawled)
    store = open_store(crawled)
    try:
        with store.session() as s:
            rows = s.scalars(select(Capture)).all()
            stable = {r.resource_id: r.stable_id for r in s.scalars(select(Resource))}
            assert len(rows) == 2 * len(PATHS) and records.keys() == {r.capture_id for r in rows}
            parsed = {}
            for row in rows:
                block, refers_to = records[row.capture_id]
                record = CaptureRecord.from_json(json.loads(block))
                assert record is not None
                _row_matches_record(row, stable[row.resource_id], record)
                assert refers_to == row.warc_record_id
                # What the schema writes is, byte for byte, what the crawl wrote.
                written = json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True)
                assert written.encode() == block
                parsed[row.capture_id] = record
            # The crawl covered redirects, retries, revisits and a preview named, not repeated.
            assert max(len(row.redirect_chain) for row in rows) == 3
            assert sum(row.is_revisit for row in rows) >= 2
            assert any(r.preview and r.preview.preview_of for r in parsed.values())
    finally:
        store.close()


def test_hop_round_trips_in_the_column_order() -> None:
    data = HOP.to_json()
    assert list(data) == [f.name for f in fields(Hop)]
    assert list(data)[:4] == ["url", "status", "location", "record_id"]
    assert Hop.from_json(data) == HOP
    assert Hop.from_json(json.loads(json.dumps(data))) == HOP


def test_hop_reading_takes_mistyped_fields_as_absent() -> None:
    assert Hop.from_json("https://example.org/") is None
    assert Hop.from_json({"record_id": 7, "offset": "12", "truncated": 1, "status": True}) == Hop(
        url=""
    )


def _record() -> CaptureRecord:
    preview = Preview(page_title="T", language="en", full_text="Some text.", extractor="x/1")
    return CaptureRecord(
        capture_id="cap_abc",
        resource_id="0123456789abcdef",
        requested_url=HOP.url,
        fetched_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        stable_id="sid_abc",
        job_id=3,
        final_url="https://example.org/b",
        http_status=200,
        content_type="text/html",
        hop_urls=[HOP.url, "https://example.org/b"],
        hops=[HOP, Hop("https://example.org/b", 200, record_id="<urn:uuid:2>")],
        payload_length=10,
        payload_digest="sha1:BBBB",
        warc_date="2026-01-02T03:04:05.000007Z",
        duration_ms=12,
        fetch_method="scrapy",
        preview=preview.to_record(),
    )


def test_capture_record_round_trips() -> None:
    record = _record()
    data = json.loads(json.dumps(record.to_json()))
    assert CaptureRecord.from_json(data) == record
    assert data["redirect_chain"] == record.hop_urls
    assert data["hops"] == [hop.to_json() for hop in record.hops]
    assert (
        data["preview"]["full_text_preview"] == "Some text." and "preview_of" not in data["preview"]
    )
    assert set(data) == {
        *("resource_id", "stable_id", "capture_id", "job_id", "requested_url", "final_url"),
        *("http_status", "content_type", "redirect_chain", "hops", "payload_length"),
        *("payload_digest", "truncated", "is_revisit", "revisit_of", "warc_date"),
        *("error_class", "error_message", "fetched_at", "duration_ms", "fetch_method"),
        "preview",
    }


def test_an_unchanged_revisits_preview_names_the_record_with_the_text() -> None:
    recorded = PreviewRecord(page_title="T", content_length=3, content_hash="h", preview_of="c")
    data = recorded.to_json()
    assert "full_text_preview" not in data and data["preview_of"] == "c"
    assert PreviewRecord.from_json(data) == recorded


def test_an_old_record_without_hops_still_reads() -> None:
    # As written before hops, job ids and payload fields were recorded.
    old: dict[str, Any] = {
        "resource_id": "0123456789abcdef",
        "stable_id": "sid_abc",
        "capture_id": "cap_abc",
        "requested_url": HOP.url,
        "final_url": HOP.url,
        "http_status": 200,
        "redirect_chain": [HOP.url, 7],
        "error_class": None,
        "error_message": None,
        "fetched_at": "2026-01-02T03:04:05.000006+00:00",
        "duration_ms": 12,
        "preview": Preview(full_text="Old text.").as_record(),
    }
    record = CaptureRecord.from_json(old)
    assert record is not None
    assert record.hops == [] and record.hop_urls == [HOP.url] and record.job_id is None
    assert record.truncated is False and record.is_revisit is False
    assert record.preview is not None and record.preview.full_text_preview == "Old text."
    assert Preview.from_record(record.preview, "Old text.") == Preview(full_text="Old text.")
    assert CaptureRecord.from_json({**old, "fetched_at": "yesterday"}) is None
    assert CaptureRecord.from_json({**old, "capture_id": None}) is None
    assert CaptureRecord.from_json([old]) is None
    assert CaptureRecord.from_json({**old, "preview": "text"}).preview is None  # type: ignore[union-attr]


def test_the_preview_fields_are_declared_once_and_named_alike() -> None:
    assert len(PREVIEW_FIELDS) == len(PAGE_FIELDS) == 6
    assert [f.name for f in fields(Extraction)][2:8] == list(PAGE_FIELDS)
    assert [f.name for f in fields(Metadata)][:6] == list(PAGE_FIELDS)
    assert [f.name for f in fields(Preview)][:6] == list(PREVIEW_FIELDS)
    assert {"page_title", *PAGE_FIELDS[1:]} == set(PREVIEW_FIELDS)
    columns = {c.key for c in Capture.__table__.columns}
    assert set(PREVIEW_FIELDS) <= columns
