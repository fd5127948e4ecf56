"""From metadata records back to capture outcomes and previews.

Every capture leaves a ``metadata`` record naming its resource and capture id, its
redirect chain and its outcome, with WARC-Refers-To the final response (or revisit).
Here each is matched with the exchange records the scan found, and its preview is
extracted again from the archived payload (so ``full_text`` is whole, not the 50 KB
the metadata record carries).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from archive.capture.record import (
    FetchOutcome,
    Preview,
    extract_preview,
    text_hash,
)
from archive.integrity.scan import Found, WarcScan
from archive.warc.records import target_uri_of
from archive.warc.stored import (
    READ_ERRORS,
    open_stored,
    read_payload,
)

# -- from metadata records to capture outcomes ---------------------------------------------


@dataclass
class Rebuilt:
    """One capture as the WARCs describe it, before it becomes a row."""

    outcome: FetchOutcome
    stable_id: str | None
    metadata: Found
    fields: dict[str, Any]
    #: the record whose payload the capture fetched (for a revisit, the original response)
    payload_record: Found | None
    #: the final response or revisit, whose HTTP headers say how to decode the payload
    final: Found | None
    missing_hops: int = 0


def _follows(hop: Found, next_url: str | None, url: str) -> bool:
    """Whether ``hop`` leads to ``next_url``: a redirect there, or a retry of the same URL."""
    if next_url is None or target_uri_of(next_url) == target_uri_of(url):
        return True
    return bool(hop.location) and target_uri_of(urljoin(url, hop.location)) == target_uri_of(
        next_url
    )


def _latest_before(
    scan: WarcScan, url: str, before: tuple[int, int], next_url: str | None, claimed: set[str]
) -> Found | None:
    """The hop record of ``url`` written last before ``before`` and not yet claimed.

    The metadata record names only the final record; earlier hops are known by URL. A
    crawl writes a capture's hops in order before its metadata record, and one crawl
    runs at a time, so the nearest earlier unclaimed record of the URL is the hop; one
    that redirects to the next hop's URL is preferred over one that does not (two
    captures in flight may fetch the same URL).
    """
    candidates = [
        f
        for f in reversed(scan.by_uri.get(target_uri_of(url), []))
        if f.position < before and f.record_id not in claimed
    ]
    for found in candidates:
        if _follows(found, next_url, url):
            return found
    return candidates[0] if candidates else None


def _hop(url: str, found: Found | None, scan: WarcScan) -> dict[str, Any]:
    """The redirect chain entry the capture middleware writes, from the record."""
    if found is None:
        return dict.fromkeys(_HOP_KEYS) | {"url": url, "truncated": False}
    original = scan.exchanges.get(found.refers_to or "") if found.record_type == "revisit" else None
    # A revisit carries no payload: its length and truncation are the original's.
    source = original if found.record_type == "revisit" else found
    return {
        "url": url,
        "status": found.status,
        "location": found.location,
        "record_id": found.record_id,
        "warc_date": found.warc_date,
        "warc_file": found.locator.filename,
        "offset": found.locator.offset,
        "length": found.locator.length,
        "payload_digest": found.payload_digest,
        "payload_length": source.payload_length if source else None,
        "revisit_of_record": found.refers_to if found.record_type == "revisit" else None,
        "truncated": bool(source and source.truncated),
    }


_HOP_KEYS = (
    "url",
    "status",
    "location",
    "record_id",
    "warc_date",
    "warc_file",
    "offset",
    "length",
    "payload_digest",
    "payload_length",
    "revisit_of_record",
    "truncated",
)


def _match_hops(
    scan: WarcScan, meta: Found, urls: list[str], claimed: set[str], hops: list[Any]
) -> list[Found | None]:
    """The records of a capture's hops, last to first, each written before the next.

    Metadata records written since they carry ``hops`` name every hop's record; older
    ones name only the final record, and the others are found by URL.
    """
    named = [h.get("record_id") for h in hops if isinstance(h, dict)]
    if named and len(named) == len(urls):
        exact = [scan.exchanges.get(rid) if isinstance(rid, str) else None for rid in named]
        if all(f is not None for f in exact):
            claimed.update(f.record_id for f in exact if f is not None)
            return exact
    found: list[Found | None] = [None] * len(urls)
    anchor = meta.position
    last = len(urls) - 1
    if meta.refers_to and urls:  # the final record is named, never guessed
        found[last] = scan.exchanges.get(meta.refers_to)
        anchor = found[last].position if found[last] else anchor
        last -= 1
    for i in range(last, -1, -1):
        next_url = urls[i + 1] if i + 1 < len(urls) else None
        found[i] = _latest_before(scan, urls[i], anchor, next_url, claimed)
        if found[i] is not None:
            anchor = found[i].position
    claimed.update(f.record_id for f in found if f is not None)
    return found


def _rebuilt(scan: WarcScan, meta: Found, fields: dict[str, Any], claimed: set[str]) -> Rebuilt:
    """The outcome the crawler recorded, from the metadata record and the records it names
    (what ``crawler.pipelines.RecordPipeline.outcome`` put together at crawl time)."""
    urls = [u for u in fields.get("redirect_chain") or [] if isinstance(u, str)]
    found = _match_hops(scan, meta, urls, claimed, fields.get("hops") or [])
    final = found[-1] if meta.refers_to and urls else None
    status = fields.get("http_status")
    outcome = FetchOutcome(
        capture_id=fields["capture_id"],
        resource_id=fields["resource_id"],
        requested_url=fields["requested_url"],
        fetched_at=datetime.fromisoformat(fields["fetched_at"]),
        final_url=fields.get("final_url"),
        http_status=status,
        # What the spider read from the final response (None for failed fetches).
        content_type=final.content_type if final and status is not None else None,
        redirect_chain=[_hop(u, f, scan) for u, f in zip(urls, found, strict=True)],
        error_class=fields.get("error_class"),
        error_message=fields.get("error_message"),
        duration_ms=fields.get("duration_ms"),
        warc_record_id=meta.refers_to,
    )
    payload_record = final
    if final is not None:
        hop = outcome.redirect_chain[-1]
        outcome.payload_length = hop["payload_length"]
        outcome.payload_digest = final.payload_digest
        outcome.truncated = hop["truncated"]
        outcome.warc_date = final.warc_date
        outcome.warc_file = final.locator.filename
        outcome.warc_offset = final.locator.offset
        outcome.warc_length = final.locator.length
        if final.record_type == "revisit":
            outcome.is_revisit = True
            payload_record = scan.exchanges.get(final.refers_to or "")
    return Rebuilt(
        outcome,
        fields.get("stable_id"),
        meta,
        fields,
        payload_record,
        final,
        missing_hops=sum(f is None for f in found),
    )


def _usable(fields: dict[str, Any]) -> bool:
    if not all(isinstance(fields.get(k), str) for k in _REQUIRED):
        return False
    try:
        datetime.fromisoformat(fields["fetched_at"])
    except ValueError:
        return False
    return True


_REQUIRED = ("capture_id", "resource_id", "requested_url", "fetched_at")


def rebuild_outcomes(
    scan: WarcScan, record_captures: dict[str, str] | None = None
) -> tuple[list[Rebuilt], int]:
    """Every capture the metadata records describe, and how many records were unusable.

    ``record_captures`` maps record ids to capture ids already known (from the store),
    for revisits of captures whose metadata record is gone.
    """
    claimed: set[str] = set()
    seen: set[str] = set()
    rebuilt: list[Rebuilt] = []
    skipped = 0
    # In write order, so each capture claims its own hop records before later ones look.
    for meta, fields in scan.metadata:
        if not _usable(fields) or fields["capture_id"] in seen:
            skipped += 1
            continue
        seen.add(fields["capture_id"])
        rebuilt.append(_rebuilt(scan, meta, fields, claimed))
    # Revisits name the capture whose response they repeat, by that capture's record.
    by_record = dict(record_captures or {})
    for r in rebuilt:
        if r.outcome.warc_record_id:
            by_record[r.outcome.warc_record_id] = r.outcome.capture_id
    for r in rebuilt:
        if r.outcome.is_revisit and r.final is not None:
            r.outcome.revisit_of = by_record.get(r.final.refers_to or "")
    return rebuilt, skipped


# -- previews ------------------------------------------------------------------------------


@dataclass
class PreviewCounts:
    extracted: int = 0
    #: re-extracted text that differs from the text the crawl recorded (a newer extractor)
    differs: int = 0
    #: payload unreadable: the metadata record's (possibly clipped) preview was used
    from_metadata: int = 0


def _recorded_text(directory: Path, item: Rebuilt, others: dict[str, Rebuilt]) -> str:
    """The preview text a metadata record carries (an unchanged revisit's lives in the
    record of the capture it names in ``preview_of``)."""
    preview = item.fields.get("preview") or {}
    source = others.get(preview.get("preview_of") or "", item)
    with open_stored(directory, source.metadata.locator) as stored:
        fields = json.loads(stored.payload.read())
    return (fields.get("preview") or {}).get("full_text_preview") or ""


def _payload(directory: Path, final: Found, payload_record: Found) -> bytes:
    """The body the crawler handed to extraction: the payload (a revisit's is the
    original's), decoded per the final response's own Content-Encoding."""
    original = None if payload_record is final else payload_record.locator
    return read_payload(directory, final.locator, original)


def rebuild_preview(
    directory: Path, item: Rebuilt, others: dict[str, Rebuilt], counts: PreviewCounts
) -> Preview | None:
    """The preview the crawl extracted, extracted again from the archived payload."""
    recorded = item.fields.get("preview")
    if not isinstance(recorded, dict):
        return None  # the crawl had no body to extract from, or extraction failed
    if item.payload_record is not None and item.final is not None:
        try:
            body = _payload(directory, item.final, item.payload_record)
            found = extract_preview(body, item.outcome.content_type, item.outcome.final_url)
        except READ_ERRORS:
            found = None
        if found is not None:
            counts.extracted += 1
            if text_hash(found.full_text) != recorded.get("content_hash"):
                counts.differs += 1
            return found
    counts.from_metadata += 1
    try:
        text = _recorded_text(directory, item, others)
    except READ_ERRORS:
        text = ""
    return Preview(
        page_title=recorded.get("page_title"),
        author=recorded.get("author"),
        published_date=recorded.get("published_date"),
        language=recorded.get("language"),
        description=recorded.get("description"),
        canonical_url=recorded.get("canonical_url"),
        full_text=text,
        extractor=recorded.get("extractor"),
    )
