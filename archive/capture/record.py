"""Recording one fetch attempt in the store: the capture row, its preview, the link state.

Called by the crawler only after the attempt's WARC records are flushed, so a
row never points at bytes that are not on disk (design.md §1).
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.registry import ids
from archive.rot.linkstate import Check, apply_check, refresh_interval
from archive.store.models import Capture, Resource

FULL_TEXT_MAX = 5 * 1024 * 1024
PREVIEW_MAX = 50 * 1024


@dataclass
class Preview:
    """What extraction found in a response (names follow the wiki's citation_content)."""

    page_title: str | None = None
    author: str | None = None
    published_date: str | None = None
    language: str | None = None
    description: str | None = None
    canonical_url: str | None = None
    full_text: str = ""
    extractor: str | None = None

    def as_record(self) -> dict[str, Any]:
        """The preview as written into the WARC metadata record (``full_text_preview``)."""
        return {
            "page_title": self.page_title,
            "author": self.author,
            "published_date": self.published_date,
            "language": self.language,
            "description": self.description,
            "canonical_url": self.canonical_url,
            "content_length": len(self.full_text),
            "content_hash": text_hash(self.full_text),
            "full_text_preview": clip(self.full_text, PREVIEW_MAX),
            "extractor": self.extractor,
        }


# What an extraction, a preview and a capture row all name alike.
_METADATA = ("author", "published_date", "language", "description", "canonical_url")


def extract_preview(body: bytes, content_type: str | None, url: str | None) -> Preview:
    """The preview of a response body (decoded of its Content-Encoding)."""
    from archive.extract import extract

    found = extract(body, content_type, url)
    return Preview(
        page_title=found.title,
        full_text=found.text,
        extractor=f"{found.extractor}/{found.extractor_version}",
        **{name: getattr(found, name) for name in _METADATA},
    )


def repeated_preview(session: Session, capture_id: str, content_type: str | None) -> Preview | None:
    """The preview of capture ``capture_id``, for an identical payload fetched again (a
    revisit of it): the same bytes give the same text, so an unchanged recrawl need not
    extract again. Only when the same extractor version made it, from the same content type,
    and its text was stored whole (not clipped); else None."""
    from archive.extract import EXTRACTOR, EXTRACTOR_VERSION

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
        page_title=original.page_title,
        full_text=text,
        extractor=original.extractor,
        **{name: getattr(original, name) for name in _METADATA},
    )


@dataclass
class FetchOutcome:
    """Everything the crawler learned about one fetch attempt of one resource."""

    capture_id: str
    resource_id: str
    requested_url: str
    fetched_at: datetime
    final_url: str | None = None
    http_status: int | None = None
    content_type: str | None = None
    payload_length: int | None = None
    payload_digest: str | None = None
    truncated: bool = False
    is_revisit: bool = False
    revisit_of: str | None = None
    warc_record_id: str | None = None
    warc_date: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None
    redirect_chain: list[dict[str, Any]] = field(default_factory=list)
    error_class: str | None = None
    error_message: str | None = None
    duration_ms: int | None = None
    preview: Preview | None = None
    job_id: int | None = None


def clip(text: str, limit_bytes: int) -> str:
    """At most ``limit_bytes`` of UTF-8, never cutting a character in half."""
    data = text.encode("utf-8")
    if len(data) <= limit_bytes:
        return text
    return data[:limit_bytes].decode("utf-8", "ignore")


def text_hash(text: str) -> str | None:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def change_size(old: str, new: str) -> int:
    """Characters on lines added or removed between two texts."""
    diff = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
    return sum(
        len(line) - 1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )


def new_capture_id(session: Session, resource: Resource, when: datetime, salt: str) -> str:
    """Capture id for (resource, second); a sequence number separates same-second attempts."""
    for sequence in range(1000):
        cid = ids.capture_id_for(resource.number, when, salt, sequence)
        if session.get(Capture, cid) is None:
            return cid
    raise RuntimeError("more than 1000 captures of one resource in one second")


def previous_text_capture(session: Session, resource_id: str, before: datetime) -> Capture | None:
    return session.scalar(
        select(Capture)
        .where(
            Capture.resource_id == resource_id,
            Capture.content_hash.is_not(None),
            Capture.fetched_at < before,
        )
        .order_by(Capture.fetched_at.desc())
        .limit(1)
    )


def capture_row(session: Session, outcome: FetchOutcome) -> Capture:
    """Insert the capture row with its preview and change flag (link state untouched)."""
    capture = Capture(**{k: v for k, v in vars(outcome).items() if k != "preview"})
    preview = outcome.preview
    if preview is not None and preview.full_text:
        text = clip(preview.full_text, FULL_TEXT_MAX)
        capture.full_text = text
        capture.full_text_preview = clip(text, PREVIEW_MAX)
        capture.content_length = len(text)
        capture.content_hash = text_hash(text)
        previous = previous_text_capture(session, outcome.resource_id, outcome.fetched_at)
        if previous is not None:
            capture.text_changed = previous.content_hash != capture.content_hash
            capture.change_size = (
                change_size(previous.full_text or "", text) if capture.text_changed else 0
            )
    if preview is not None:
        for name in ("page_title", *_METADATA, "extractor"):
            setattr(capture, name, getattr(preview, name))
        capture.fetch_method = "scrapy"
    session.add(capture)
    session.flush()  # a later capture's text_changed compares with this one
    return capture


def record_capture(
    session: Session,
    outcome: FetchOutcome,
    *,
    refresh_days: float,
    refresh_by_type: dict[str, float] | None = None,
    now: datetime | None = None,
) -> Capture:
    """Insert the capture row and apply it to the resource's link state and due time."""
    resource = session.get(Resource, outcome.resource_id)
    if resource is None:
        raise LookupError(
            f"capture {outcome.capture_id} names unknown resource {outcome.resource_id}"
        )
    capture = capture_row(session, outcome)
    check = Check(
        requested_url=outcome.requested_url,
        final_url=outcome.final_url,
        status=outcome.http_status,
        error_class=outcome.error_class,
        capture_id=outcome.capture_id,
    )
    refresh = refresh_interval(resource, refresh_days, refresh_by_type or {})
    event = apply_check(resource, check, now or outcome.fetched_at, refresh)
    if event is not None:
        session.add(event)
    return capture
