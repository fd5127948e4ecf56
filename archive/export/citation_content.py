"""Rows of the wiki's ``citation_content`` table, as its server takes them at
``POST /api/citations/content/upsert``: one per resource, from its last good capture.

Each row is exactly the endpoint's body (``url``, ``resourceId``, ``fetchedAt``,
``httpStatus``, ``contentType``, ``pageTitle``, ``fullTextPreview``, ``fullText``,
``contentLength``, ``contentHash``, ``fetchMethod``) within its limits, so the server never
has a reason to refuse one: a text past its limit is cut at a word and marked the way the
wiki shows a cut preview (``... (truncated, N KB total)``), a title with ``…``; a URL longer
than the server keeps cannot be cut (it would name another page), so that resource is left
out and said so. ``contentHash`` is the sha256 of exactly the ``fullText`` sent;
``contentLength`` is the characters of text the capture holds (all of it, even when
``fullText`` is cut).

The server counts lengths as JavaScript does (UTF-16 code units); the two text fields
are held to their limits in UTF-8 bytes, which is never less, so they fit either way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from archive.capture.preview import FULL_TEXT_MAX
from archive.export.selection import Selection
from archive.inspect.card import kb
from archive.store.models import Capture, Resource

#: What the wiki's server is told fetched the content.
FETCH_METHOD = "cited-archive"
#: The endpoint's limits: characters (JavaScript's) for short fields, bytes for the texts.
LIMITS = {
    "url": 2000,
    "resourceId": 200,
    "contentType": 200,
    "pageTitle": 1000,
    "contentHash": 64,
    "fetchMethod": 50,
}
PREVIEW_BYTES = 50 * 1024
FULL_TEXT_BYTES = 5 * 1024 * 1024
FIELDS = (
    "url",
    "resourceId",
    "fetchedAt",
    "httpStatus",
    "contentType",
    "pageTitle",
    "fullTextPreview",
    "fullText",
    "contentLength",
    "contentHash",
    "fetchMethod",
)


@dataclass
class ContentRow:
    """One body for the endpoint, and where it came from."""

    body: dict[str, Any]
    resource_id: str
    capture_id: str
    #: The fields cut to fit their limits.
    cut: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.body["url"])

    @property
    def row_hash(self) -> str:
        """sha256 of the row as sent, its ``fetchedAt`` aside: a page crawled again and
        found the same is not a change."""
        same = {k: v for k, v in self.body.items() if k != "fetchedAt"}
        return hashlib.sha256(json.dumps(same, sort_keys=True).encode("utf-8")).hexdigest()

    def line(self) -> str:
        return json.dumps(self.body, ensure_ascii=False)


@dataclass
class Skipped:
    """A resource whose good capture cannot be made a row the server takes."""

    resource_id: str
    url: str
    reason: str

    @property
    def shown(self) -> str:
        """Its URL as a message shows it (a URL too long to send is too long to read)."""
        return self.url if len(self.url) <= 120 else self.url[:119] + "…"


def js_length(text: str) -> int:
    """The length JavaScript (and so the wiki's server) gives ``text``: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _clean(text: str) -> str:
    """Text a JSON body and PostgreSQL both carry: no NUL (the server strips it), no lone
    surrogate (not UTF-8)."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _cut(text: str, limit: int, codec: str, marker: str) -> str:
    """``text`` within ``limit`` units of ``codec`` (bytes of UTF-8, or UTF-16 code units),
    cut back to a word boundary and ending with ``marker``."""
    width = 2 if codec == "utf-16-le" else 1
    room = limit - len(marker.encode(codec)) // width
    head = text.encode(codec)[: room * width].decode(codec, "ignore")
    space = max(head.rfind(" "), head.rfind("\n"))
    if space > len(head) // 2:
        head = head[:space]
    return head.rstrip() + marker


def fit_text(text: str, limit_bytes: int, clipped: bool = False) -> tuple[str, bool]:
    """A text within ``limit_bytes`` of UTF-8, and whether it was cut; ``clipped``: the
    text is already a cut one (not at a word, not marked), so it is cut and marked too."""
    size = len(text.encode("utf-8"))
    if size <= limit_bytes and not clipped:
        return text, False
    return _cut(text, limit_bytes, "utf-8", f"\n... (truncated, {kb(size)} total)"), True


def fit_short(text: str | None, limit: int) -> tuple[str | None, bool]:
    """A short field within ``limit`` JavaScript characters, cut at a word with ``…``."""
    if text is None or js_length(text) <= limit:
        return text, False
    return _cut(text, limit, "utf-16-le", "…"), True


def iso_instant(when: datetime) -> str:
    """``2026-04-09T12:00:05.123Z``: the form the server's ``datetime()`` check takes."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _content_type(value: str | None) -> str | None:
    """The capture's content type, its parameters dropped when it is too long; None when
    even its bare type is."""
    if value is None or js_length(value) <= LIMITS["contentType"]:
        return value
    bare = value.split(";", 1)[0].strip()
    return bare if bare and js_length(bare) <= LIMITS["contentType"] else None


def build_row(res: Resource, good: Capture) -> ContentRow | Skipped:
    """The row of ``res`` from its last good capture ``good``."""
    if js_length(res.url) > LIMITS["url"]:
        too_long = "its URL is longer than the 2,000 characters the server takes"
        return Skipped(res.resource_id, res.url, too_long)
    cut: list[str] = []
    held = good.full_text or ""
    text = _clean(held) if held else None
    full, preview = None, None
    if text:
        # A capture keeps at most 5 MB of text: one that long was cut there, mid-word.
        at_cap = len(held.encode("utf-8")) > FULL_TEXT_MAX - 4
        full, full_cut = fit_text(text, FULL_TEXT_BYTES, clipped=at_cap)
        preview, preview_cut = fit_text(text, PREVIEW_BYTES)
        cut += ["fullText"] * full_cut + ["fullTextPreview"] * preview_cut
    title, title_cut = fit_short(_clean(good.page_title) if good.page_title else None, 1000)
    cut += ["pageTitle"] * title_cut
    body = {
        "url": res.url,
        "resourceId": res.resource_id,
        "fetchedAt": iso_instant(good.fetched_at),
        "httpStatus": good.http_status,
        "contentType": _content_type(good.content_type),
        "pageTitle": title,
        "fullTextPreview": preview,
        "fullText": full,
        "contentLength": good.content_length if text else None,
        "contentHash": hashlib.sha256(full.encode("utf-8")).hexdigest() if full else None,
        "fetchMethod": FETCH_METHOD,
    }
    problems = row_problems(body)
    if problems:  # never sent: the server would refuse it
        return Skipped(res.resource_id, res.url, "; ".join(problems))
    return ContentRow(body, res.resource_id, good.capture_id, cut)


def row_problems(body: dict[str, Any]) -> list[str]:
    """What in ``body`` the endpoint would refuse (empty when nothing)."""
    problems = [f"unknown field {k}" for k in body if k not in FIELDS]
    if not isinstance(body.get("url"), str) or not body["url"]:
        problems.append("no url")
    if not isinstance(body.get("fetchedAt"), str) or not body["fetchedAt"].endswith("Z"):
        problems.append("fetchedAt is not an ISO instant in UTC")
    for name, limit in LIMITS.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or js_length(value) > limit):
            problems.append(f"{name} is over {limit} characters")
    for name, limit in (("fullTextPreview", PREVIEW_BYTES), ("fullText", FULL_TEXT_BYTES)):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value.encode()) > limit):
            problems.append(f"{name} is over {kb(limit)}")
    for name in ("httpStatus", "contentLength"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(f"{name} is not an integer")
    return problems


def content_row(session: Session, res: Resource) -> ContentRow | Skipped | None:
    """The row of one resource, or None when it has no good capture yet. The capture is
    let go of at once: its text may be 5 MB."""
    if not res.last_ok_capture_id:
        return None
    good = session.get(Capture, res.last_ok_capture_id)
    if good is None:
        return None
    try:
        return build_row(res, good)
    finally:
        session.expunge(good)


def citation_content(session: Session, selection: Selection) -> Iterator[ContentRow | Skipped]:
    """The rows of the selected resources that have a good capture, by resource id."""
    for res in selection.resources(session):
        item = content_row(session, res)
        if item is not None:
            yield item


def write_rows(items: Iterator[ContentRow | Skipped], out: IO[str]) -> tuple[int, list[Skipped]]:
    """One JSON object a line; how many were written, and the resources left out."""
    count, skipped = 0, []
    for item in items:
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        out.write(item.line() + "\n")
        count += 1
    return count, skipped
