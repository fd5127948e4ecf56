"""Previews off the crawl's critical path: worker processes with bounds, and previews
made later (``archive crawl --defer-previews`` then ``archive extract --pending``).

Real crawls of a local site through the ``archive`` CLI; the WARCs checked with warcio.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from sites import Fixed, LocalSite, html_page, minimal_pdf
from warcio.archiveiterator import ArchiveIterator

from archive.capture.pool import Bounds, PreviewPool

ARCHIVE = str(Path(sys.executable).parent / "archive")
WARCIO = str(Path(sys.executable).parent / "warcio")
PAGES = {
    f"/story/{n}": f"Story {n} tells of the harbour, the ships and the keeper {n}."
    for n in range(6)
}


def archive(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCHIVE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def serve(site: LocalSite) -> list[str]:
    for path, text in PAGES.items():
        site.set(path, Fixed(html_page(path, text).encode()))
    return [site.url(path) for path in PAGES]


def crawl(tmp_path: Path, urls: list[str], *flags: str) -> subprocess.CompletedProcess[str]:
    listing = tmp_path / "list.txt"
    listing.write_text("".join(u + "\n" for u in urls))
    result = archive("crawl", "--source", str(listing), *flags)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def show(url: str) -> dict:
    result = archive("show", url, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def metadata_blocks(home: Path) -> list[dict]:
    blocks = []
    for path in sorted((home / "warcs").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "metadata":
                    blocks.append(json.loads(record.content_stream().read()))
    return blocks


def warcs_check(home: Path) -> None:
    files = [str(p) for p in sorted((home / "warcs").glob("*.warc.gz"))]
    result = subprocess.run([WARCIO, "check", *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def pdf_of(texts: Iterable[str]) -> bytes:
    """A PDF with one page of each text."""
    writer = PdfWriter()
    for text in texts:
        writer.add_page(PdfReader(io.BytesIO(minimal_pdf(text))).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_crawl_extracts_every_preview_in_worker_processes(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    urls = serve(site)
    crawl(tmp_path, urls)
    for url, text in zip(urls, PAGES.values(), strict=True):
        assert text in (show(url)["preview"] or {}).get("text", "")


def test_deferred_previews_are_made_later_and_survive_a_reindex(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    urls = serve(site)
    result = crawl(tmp_path, urls, "--defer-previews")
    assert f"{len(urls)} previews left for `archive extract --pending`" in result.stdout
    assert not any("preview" in b for b in metadata_blocks(archive_home))
    assert show(urls[0])["preview"]["text"] == ""

    made = archive("extract", "--pending", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {"previews": len(urls), "without_text": 0}
    for url, text in zip(urls, PAGES.values(), strict=True):
        assert text in show(url)["preview"]["text"]
    late = [b for b in metadata_blocks(archive_home) if "preview_for" in b]
    assert len(late) == len(urls)
    assert all(b["preview"]["full_text_preview"] for b in late)
    warcs_check(archive_home)
    again = archive("extract", "--pending", "--json")  # nothing is left
    assert json.loads(again.stdout)["previews"] == 0

    verified = archive("verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    (archive_home / "archive.sqlite3").unlink()
    rebuilt = archive("reindex")
    assert rebuilt.returncode == 0, rebuilt.stderr
    for url, text in zip(urls, PAGES.values(), strict=True):
        assert text in show(url)["preview"]["text"]


def test_an_extraction_over_its_time_budget_costs_only_its_page() -> None:
    bounds = Bounds(workers=1, memory=1 << 30, timeout=1.0, max_input=10 << 20, max_pdf_pages=200)
    pool = PreviewPool(bounds)
    try:
        started = time.monotonic()
        slow = pool.submit(b"<html><body>" + b"<p>more</p>" * 600_000, "text/html", "http://a/")
        preview = pool.outcome(slow, "http://a/")
        assert time.monotonic() - started < 15
        assert preview.full_text == "" and "time budget" in (preview.extractor or "")
        page = html_page("Next", "The worker that replaced it extracts the next page well.")
        after = pool.outcome(pool.submit(page.encode(), "text/html", "http://b/"), "http://b/")
        assert "replaced it" in after.full_text
    finally:
        pool.close(wait=False)


def test_an_extraction_over_its_memory_cap_costs_only_its_page() -> None:
    bounds = Bounds(workers=1, memory=200 << 20, timeout=60, max_input=80 << 20, max_pdf_pages=200)
    pool = PreviewPool(bounds)
    try:
        # 100,000 paragraphs of 100 words: 60 MB of text, copied as it is read (over 300 MB
        # of address space at its peak), while a worker extracting a small page needs about
        # half the cap: the cap sits between the two, whatever the worker happens to import
        huge = b"<html><body>" + b"".join(
            b"<p>Paragraph %d: %s</p>" % (n, b"words " * 100) for n in range(100_000)
        )
        preview = pool.outcome(pool.submit(huge, "text/html", "http://a/"), "http://a/")
        assert preview.full_text == "" and "memory cap" in (preview.extractor or ""), preview
        page = html_page("Next", "The same worker, or its successor, still extracts pages.")
        after = pool.outcome(pool.submit(page.encode(), "text/html", "http://b/"), "http://b/")
        assert "successor" in after.full_text
    finally:
        pool.close(wait=False)


def test_only_the_first_pages_of_a_long_pdf_are_read() -> None:
    bounds = Bounds(workers=1, memory=1 << 30, timeout=60, max_input=10 << 20, max_pdf_pages=2)
    pool = PreviewPool(bounds)
    try:
        pdf = pdf_of(f"Page {n} of the report." for n in range(1, 6))
        preview = pool.outcome(pool.submit(pdf, "application/pdf", "http://a/"), "http://a/")
        assert "Page 2" in preview.full_text and "Page 3" not in preview.full_text
    finally:
        pool.close(wait=False)


def test_input_past_the_cap_is_not_read() -> None:
    bounds = Bounds(workers=1, memory=1 << 30, timeout=60, max_input=4096, max_pdf_pages=200)
    pool = PreviewPool(bounds)
    try:
        start = "<html><body><article><p>" + "Opening words of a long article. " * 50
        body = (start + "x" * 10_000 + " CLOSING WORDS</p></article></body></html>").encode()
        preview = pool.outcome(pool.submit(body, "text/html", "http://a/"), "http://a/")
        assert "Opening words" in preview.full_text and "CLOSING" not in preview.full_text
    finally:
        pool.close(wait=False)
