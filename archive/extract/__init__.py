"""Preview text of a captured document (docs/design.md §6).

``extract(body, content_type, url)`` decodes the body with its real charset and returns the
main text plus metadata: HTML without navigation, banners and other boilerplate; PDF text via
pypdf; plain text as is. It never raises on bad input: a page it cannot read gives empty text.
"""

from __future__ import annotations

import logging
import struct
import zlib
from dataclasses import dataclass, fields
from pathlib import Path

from archive.extract import charset, sniff

EXTRACTOR = "cited-archive-extract"
EXTRACTOR_VERSION = "1.2"
#: A local ``.gz`` file is not read past this many bytes decoded (ARCHIVE_MAX_BODY_SIZE's
#: default, the crawl's cap on bodies).
MAX_GUNZIPPED = 50 * 1024 * 1024

log = logging.getLogger(__name__)


@dataclass
class PageMetadata:
    """What a document says about itself: the metadata every preview carries, declared
    once (a capture names ``title`` ``page_title``, as the wiki's citation_content does)."""

    title: str | None = None
    author: str | None = None
    published_date: str | None = None  # ISO "YYYY-MM-DD"
    language: str | None = None
    description: str | None = None
    canonical_url: str | None = None


#: The names of PageMetadata's fields, in their order.
PAGE_FIELDS = tuple(f.name for f in fields(PageMetadata))


@dataclass
class _Text:
    kind: str  # "html" | "pdf" | "text" | "none"
    text: str  # paragraphs separated by "\n\n"; "" when there is none


# _Text comes last among the bases so that its fields come first: `Extraction(kind, text)`
# and the field order `archive extract --json` prints stay as they were.
@dataclass
class Extraction(PageMetadata, _Text):
    charset: str | None = None  # the charset actually used to decode
    extractor: str = EXTRACTOR
    extractor_version: str = EXTRACTOR_VERSION


def extract(
    body: bytes,
    content_type: str | None = None,
    url: str | None = None,
    max_pdf_pages: int | None = None,
) -> Extraction:
    """The preview of ``body`` served as ``content_type`` from ``url`` (of a PDF, its first
    ``max_pdf_pages`` pages). Raises only MemoryError: a bounded caller reports it."""
    body = body or b""
    kind = sniff.kind(body, content_type)
    try:
        if kind == "html":
            return _html(body, content_type, url)
        if kind == "pdf":
            return _pdf(body, max_pdf_pages)
        if kind == "text":
            text, used = charset.decode(body, content_type, html=False)
            return Extraction("text", _plain(text), charset=used)
    except MemoryError:
        raise
    except Exception:  # a preview is best effort: log and show nothing rather than fail a capture
        log.exception("extraction failed for %s", url)
        return Extraction(kind, "")
    return Extraction("none", "")


def extract_file(path: str | Path, url: str | None = None) -> Extraction:
    """The preview of a local file: ``.html``/``.htm`` (optionally ``.gz``), ``.pdf``, ``.txt``."""
    path = Path(path)
    body = path.read_bytes()
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        # Scrapy's capped gunzip; imported here, as importing Scrapy costs a quarter of a
        # second that every other user of this package (the recorder, the viewer) is spared.
        from scrapy.utils.gz import gunzip

        try:
            body = gunzip(body, max_size=MAX_GUNZIPPED)
        except (OSError, EOFError, ValueError, struct.error, zlib.error) as exc:
            # not gzip, broken, or more than MAX_GUNZIPPED bytes once inflated (a bomb)
            log.warning("%s: not read: %s", path, exc)
            return Extraction("none", "")
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    content_type = _SUFFIX_TYPES.get(suffix)
    return extract(body, content_type, url)


_SUFFIX_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
}


def _html(body: bytes, content_type: str | None, url: str | None) -> Extraction:
    from archive.extract.content import extract_html

    text, used = charset.decode(body, content_type, html=True)
    result = extract_html(text, url)
    md = result.metadata
    return Extraction(
        "html",
        result.text,
        title=md.title,
        author=md.author,
        published_date=md.published_date,
        language=md.language,
        description=md.description,
        canonical_url=md.canonical_url,
        charset=used,
    )


def _pdf(body: bytes, max_pages: int | None) -> Extraction:
    from archive.extract.pdf import MAX_PAGES, extract_pdf

    text, title, author, date = extract_pdf(body, max_pages or MAX_PAGES)
    return Extraction("pdf", text, title=title, author=author, published_date=date)


def _plain(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip()
