"""A capture's preview: what extraction found in the response, and its size limits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archive.capture.schema import PREVIEW_FIELDS, PreviewMetadata, PreviewRecord

if TYPE_CHECKING:  # the crawl's process and the preview workers never import SQLAlchemy
    from sqlalchemy.orm import Session

FULL_TEXT_MAX = 5 * 1024 * 1024
PREVIEW_MAX = 50 * 1024


@dataclass
class Preview(PreviewMetadata):
    """What extraction found in a response (names follow the wiki's citation_content)."""

    full_text: str = ""
    extractor: str | None = None

    def to_record(self) -> PreviewRecord:
        """The preview as the metadata record carries it: the text clipped, and hashed."""
        return PreviewRecord(
            **self.page_metadata(),
            content_length=len(self.full_text),
            content_hash=text_hash(self.full_text),
            full_text_preview=clip(self.full_text, PREVIEW_MAX),
            extractor=self.extractor,
        )

    def as_record(self) -> dict[str, Any]:
        """The preview as written into the WARC metadata record (``full_text_preview``)."""
        return self.to_record().to_json()

    @classmethod
    def from_record(cls, recorded: PreviewRecord, full_text: str) -> Preview:
        """The preview a metadata record describes, with ``full_text`` for its text."""
        return cls(**recorded.page_metadata(), full_text=full_text, extractor=recorded.extractor)


def extract_preview(
    body: bytes, content_type: str | None, url: str | None, max_pdf_pages: int | None = None
) -> Preview:
    """The preview of a response body (decoded of its Content-Encoding)."""
    from archive.extract import PAGE_FIELDS, extract

    found = extract(body, content_type, url, max_pdf_pages=max_pdf_pages)
    # The same fields in the same order; only the title is named differently.
    metadata = zip(PREVIEW_FIELDS, PAGE_FIELDS, strict=True)
    return Preview(
        full_text=found.text,
        extractor=f"{found.extractor}/{found.extractor_version}",
        **{ours: getattr(found, theirs) for ours, theirs in metadata},
    )


def repeated_preview(session: Session, capture_id: str, content_type: str | None) -> Preview | None:
    """The preview of capture ``capture_id``, for an identical payload fetched again (a
    revisit of it): the same bytes give the same text, so an unchanged recrawl need not
    extract again. Only when the same extractor version made it, from the same content type,
    and its text was stored whole (not clipped); else None."""
    from archive.extract import EXTRACTOR, EXTRACTOR_VERSION
    from archive.store.models import Capture

    original = session.get(Capture, capture_id)
    if (
        original is None
        or original.extractor != f"{EXTRACTOR}/{EXTRACTOR_VERSION}"
        or original.content_type != content_type
    ):
        return None
    text = original.full_text or ""
    if len(text.encode("utf-8")) >= FULL_TEXT_MAX:
        return None
    return Preview(
        full_text=text,
        extractor=original.extractor,
        **{name: getattr(original, name) for name in PREVIEW_FIELDS},
    )


def clip(text: str, limit_bytes: int) -> str:
    """At most ``limit_bytes`` of UTF-8, never cutting a character in half."""
    data = text.encode("utf-8")
    if len(data) <= limit_bytes:
        return text
    return data[:limit_bytes].decode("utf-8", "ignore")


def text_hash(text: str) -> str | None:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None
