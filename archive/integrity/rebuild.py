"""From metadata records back to capture outcomes and previews.

Every capture leaves a ``metadata`` record naming its resource and capture id, its
redirect chain and its outcome, with WARC-Refers-To the final response (or revisit).
Here each is matched with the exchange records the scan found, and its preview is
extracted again from the archived payload (so ``full_text`` is whole, not the 50 KB
the metadata record carries).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from archive.capture.preview import Preview, extract_preview, text_hash
from archive.capture.record import FetchOutcome
from archive.capture.schema import CaptureRecord, Hop, PreviewRecord
from archive.extract.requisites import DOM
from archive.integrity.scan import Found, WarcScan
from archive.warc import Locator
from archive.warc.codings import MAX_DECODED
from archive.warc.reader import read_record
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
    #: what the capture's metadata record says
    record: CaptureRecord
    metadata: Found
    #: the record whose payload the capture fetched (for a revisit, the original response)
    payload_record: Found | None
    #: the final response or revisit, whose HTTP headers say how to decode the payload
    final: Found | None
    missing_hops: int = 0
    #: the record holding the preview's text: the metadata record, or a late preview's
    preview_record: Found | None = None


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


def _hop(url: str, found: Found | None, scan: WarcScan) -> Hop:
    """The hop the capture middleware wrote, from the record."""
    if found is None:
        return Hop(url)
    original = scan.exchanges.get(found.refers_to or "") if found.record_type == "revisit" else None
    # A revisit carries no payload: its length and truncation are the original's.
    source = original if found.record_type == "revisit" else found
    return Hop(
        url=url,
        status=found.status,
        location=found.location,
        record_id=found.record_id,
        warc_date=found.warc_date,
        warc_file=found.locator.filename,
        offset=found.locator.offset,
        length=found.locator.length,
        payload_digest=found.payload_digest,
        payload_length=source.payload_length if source else None,
        revisit_of_record=found.refers_to if found.record_type == "revisit" else None,
        truncated=bool(source and source.truncated),
    )


def _match_hops(
    scan: WarcScan, meta: Found, record: CaptureRecord, claimed: set[str]
) -> list[Found | None]:
    """The records of a capture's hops, last to first, each written before the next.

    Metadata records written since they carry ``hops`` name every hop's record; older
    ones name only the final record, and the others are found by URL.
    """
    urls = record.hop_urls
    named = [hop.record_id for hop in record.hops]
    if named and len(named) == len(urls):
        exact = [scan.exchanges.get(rid) if rid is not None else None for rid in named]
        if all(f is not None for f in exact):
            claimed.update(f.record_id for f in exact if f is not None)
            return exact
    found: list[Found | None] = [None] * len(urls)
    anchor = meta.position
    last = len(urls) - 1
    if meta.refers_to and urls:  # the final record is named, never guessed
        final = found[last] = scan.exchanges.get(meta.refers_to)
        anchor = final.position if final else anchor
        last -= 1
    for i in range(last, -1, -1):
        next_url = urls[i + 1] if i + 1 < len(urls) else None
        hop = found[i] = _latest_before(scan, urls[i], anchor, next_url, claimed)
        if hop is not None:
            anchor = hop.position
    claimed.update(f.record_id for f in found if f is not None)
    return found


def _rebuilt(scan: WarcScan, meta: Found, record: CaptureRecord, claimed: set[str]) -> Rebuilt:
    """The outcome the crawler recorded, from the metadata record and the records it names
    (what ``crawler.record_path.fetch_outcome`` put together at crawl time)."""
    urls = record.hop_urls
    found = _match_hops(scan, meta, record, claimed)
    final = found[-1] if meta.refers_to and urls else None
    status = record.http_status
    outcome = FetchOutcome(
        capture_id=record.capture_id,
        resource_id=record.resource_id,
        requested_url=record.requested_url,
        fetched_at=record.fetched_at,
        final_url=record.final_url,
        http_status=status,
        # What the spider read from the final response (None for failed fetches).
        content_type=final.content_type if final and status is not None else None,
        hops=[_hop(u, f, scan) for u, f in zip(urls, found, strict=True)],
        error_class=record.error_class,
        error_message=record.error_message,
        duration_ms=record.duration_ms,
        warc_record_id=meta.refers_to,
        requisites=list(record.requisites),
        requisites_cut=record.requisites_cut,
        requisites_left_out=record.requisites_left_out,
        fetch_method=record.fetch_method or "scrapy",
    )
    payload_record = final
    if final is not None:
        outcome.answered_by(outcome.hops[-1])
        if final.record_type == "revisit":
            outcome.is_revisit = True
            payload_record = scan.exchanges.get(final.refers_to or "")
    return Rebuilt(
        outcome,
        record,
        meta,
        payload_record,
        final,
        missing_hops=sum(f is None for f in found),
    )


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
        record = CaptureRecord.from_json(fields)
        if record is None or record.capture_id in seen:
            skipped += 1
            continue
        seen.add(record.capture_id)
        item = _rebuilt(scan, meta, record, claimed)
        late = scan.previews.get(record.capture_id)
        if record.preview is None and late is not None:  # its preview came after it
            record.preview = PreviewRecord.from_json(late[1].get("preview"))
            item.preview_record = late[0]
        rebuilt.append(item)
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
    preview_of = item.record.preview.preview_of if item.record.preview else None
    source = others.get(preview_of or "", item)
    where = (source.preview_record or source.metadata).locator
    with open_stored(directory, where) as stored:
        data = json.loads(stored.payload.read())
    recorded = PreviewRecord.from_json(data.get("preview") if isinstance(data, dict) else None)
    return (recorded.full_text_preview if recorded else None) or ""


def _payload(directory: Path, final: Found, payload_record: Found, max_size: int) -> bytes:
    """The body the crawler handed to extraction: the payload (a revisit's is the
    original's), decoded per the final response's own Content-Encoding."""
    original = None if payload_record is final else payload_record.locator
    return read_payload(directory, final.locator, original, max_size)


def _rendered(directory: Path, record: CaptureRecord, max_size: int) -> bytes | None:
    """A browser capture's rendered DOM (its ``urn:dom:`` resource record, UTF-8), which
    its preview was extracted from; None for any other capture."""
    if record.fetch_method != "browser":
        return None
    for requisite in record.requisites:
        hop = requisite.hops[0] if requisite.kind == DOM and requisite.hops else None
        if hop and hop.warc_file and hop.offset is not None and hop.length:
            locator = Locator(hop.warc_file, hop.offset, hop.length)
            with read_record(directory, locator) as found:
                data: bytes = found.content_stream().read(max_size)
                return data
    return None


#: ``extract(body, content_type, url)``: a preview, as the crawl would make it
Extract = Callable[[bytes, str | None, str | None], Preview]


def rebuild_preview(
    directory: Path,
    item: Rebuilt,
    others: dict[str, Rebuilt],
    counts: PreviewCounts,
    extract: Extract = extract_preview,
    max_size: int = MAX_DECODED,
) -> Preview | None:
    """The preview the crawl extracted, extracted again from the archived payload (not
    decoded past ``max_size`` bytes, the crawl's cap on bodies: else from the metadata)."""
    recorded = item.record.preview
    if recorded is None:
        return None  # the crawl had no body to extract from, or extraction failed
    if item.payload_record is not None and item.final is not None:
        try:
            content_type = item.outcome.content_type
            body = _rendered(directory, item.record, max_size)
            if body is not None:
                content_type = "text/html; charset=utf-8"
            else:
                body = _payload(directory, item.final, item.payload_record, max_size)
            found = extract(body, content_type, item.outcome.final_url)
        except READ_ERRORS:
            found = None
        if found is not None:
            counts.extracted += 1
            if text_hash(found.full_text) != recorded.content_hash:
                counts.differs += 1
            return found
    counts.from_metadata += 1
    try:
        text = _recorded_text(directory, item, others)
    except READ_ERRORS:
        text = ""
    return Preview.from_record(recorded, text)
