"""Hostile pages: markup and documents that would cost an unbounded extractor minutes and
gigabytes. Each is crawled with the default bounds beside two good pages; the crawl must
end on its own within the memory bound, the page be recorded, the WARC pass ``warcio
check``, and the good pages get their previews (tests/test_hostile.py has the servers).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile import RawServer, endless, file_body
from pypdf import PdfReader, PdfWriter
from sites import LocalSite, minimal_pdf
from test_hostile import GOOD_PAGES, HTML, assert_sound_crawl, captures, crawl

pytestmark = pytest.mark.slow

MIB = 1 << 20


def tiny_elements(path: Path, size: int = 50 * MIB) -> Path:
    """``size`` bytes of ``<p>more</p>``: some 4.8 million elements."""
    with open(path, "wb") as out:
        out.write(b"<!doctype html><title>Tiny</title><body>")
        piece = b"<p>more</p>" * 100_000
        for _ in range(size // len(piece)):
            out.write(piece)
    return path


def deep_nesting(path: Path, depth: int = 100_000) -> Path:
    path.write_bytes(
        b"<!doctype html><title>Deep</title><body>"
        + b"<div>" * depth
        + b"The bottom of a very deep page."
        + b"</div>" * depth
    )
    return path


def long_pdf(path: Path, pages: int = 20_000) -> Path:
    """A PDF of ``pages`` pages: one with text, then blank ones."""
    writer = PdfWriter()
    writer.add_page(PdfReader(io.BytesIO(minimal_pdf("The first page of a long report."))).pages[0])
    for _ in range(pages - 1):
        writer.add_blank_page(612, 792)
    with open(path, "wb") as out:
        writer.write(out)
    return path


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[RawServer]:
    routes = {
        "/tiny": file_body(tiny_elements(tmp_path / "tiny.html"), [HTML]),
        "/deep": file_body(deep_nesting(tmp_path / "deep.html"), [HTML]),
        "/report.pdf": file_body(
            long_pdf(tmp_path / "report.pdf"), [("Content-Type", "application/pdf")]
        ),
        "/endless": endless(),
    }
    with RawServer(routes) as raw:
        yield raw


def crawled(hostile: RawServer, path: str, site: LocalSite, tmp_path: Path, home: Path) -> Any:
    url = hostile.url(path)
    result = crawl(tmp_path, [url, *(site.url(p) for p in GOOD_PAGES)])
    assert_sound_crawl(result, home, site, path)
    capture = captures(home)[url]
    assert capture.http_status == 200 and capture.warc_record_id, capture.error_message
    assert capture.extractor, "the page went through extraction, bounded"
    return capture


def test_fifty_megabytes_of_tiny_elements(
    hostile: RawServer, site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    capture = crawled(hostile, "/tiny", site, tmp_path, archive_home)
    assert capture.page_title == "Tiny"


def test_a_hundred_thousand_deep_nesting(
    hostile: RawServer, site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    capture = crawled(hostile, "/deep", site, tmp_path, archive_home)
    assert capture.page_title == "Deep"


def test_a_pdf_of_twenty_thousand_pages(
    hostile: RawServer, site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    capture = crawled(hostile, "/report.pdf", site, tmp_path, archive_home)
    assert "first page of a long report" in (capture.full_text or ""), capture.extractor


def test_an_endless_body_at_the_default_cap(
    hostile: RawServer, site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    capture = crawled(hostile, "/endless", site, tmp_path, archive_home)
    assert capture.truncated and capture.payload_length == 50 * MIB
