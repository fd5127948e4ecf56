"""Rebuilding the store from the WARC files alone (design.md §1: the WARCs are the truth).

Every capture leaves a ``metadata`` record naming its resource and capture id, its
redirect chain and its outcome, with WARC-Refers-To the final response (or revisit).
A reindex walks all files once, indexes the exchange records, and for each metadata
record whose capture is missing from the store rebuilds the row: the locator and
digests from the records themselves, the preview by extracting the payload again (so
``full_text`` is whole, not the 50 KB the metadata record carries), then the resource's
link state by replaying its captures in time order.

What the WARCs do not hold stays lost: the job a capture belonged to, and a resource's
registry fields (title, type, tags, cited_by) that only ``archive import`` supplies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, load_only

from archive import ids
from archive.captures import (
    FetchOutcome,
    Preview,
    capture_row,
    extract_preview,
    text_hash,
)
from archive.db import Store
from archive.linkstate import Check, apply_check, refresh_interval
from archive.models import Capture, LinkEvent, LinkState, Resource
from archive.urls import host_of, url_key
from archive.warc import Locator, RepairReport, repair_open_files
from archive.warc.files import OPEN_SUFFIX, WARC_SUFFIX
from archive.warc.reader import Damage, record_at, walk_members
from archive.warc.records import target_uri_of
from archive.warc.stored import (
    READ_ERRORS,
    decoded_payload,
    last_header,
    open_stored,
)
from settings import base

#: ``progress(stage, done, total)``: called as files are read and captures rebuilt.
Progress = Callable[[str, int, int], None]

_EXCHANGE_TYPES = ("response", "revisit")
# -- the scan: what every WARC file holds --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """A response, revisit or metadata record as the scan found it."""

    record_id: str
    record_type: str
    target_uri: str
    warc_date: str
    locator: Locator
    #: (file number, offset): write order, since one crawl writes at a time
    position: tuple[int, int]
    refers_to: str | None = None
    payload_digest: str | None = None
    truncated: bool = False
    status: int | None = None
    location: str | None = None
    content_type: str | None = None
    payload_length: int | None = None


@dataclass
class WarcScan:
    files: list[Path] = field(default_factory=list)
    records: int = 0
    #: response and revisit records by WARC-Record-ID
    exchanges: dict[str, Found] = field(default_factory=dict)
    #: the same records by target URI, in write order
    by_uri: dict[str, list[Found]] = field(default_factory=dict)
    #: metadata records in write order, with their JSON fields
    #: (``preview.full_text_preview`` dropped: it is read again only when needed)
    metadata: list[tuple[Found, dict[str, Any]]] = field(default_factory=list)
    #: files that could not be read to their end, with why
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


def _found(record: Any, number: int, path: Path, offset: int, length: int) -> Found:
    headers = record.rec_headers
    http = record.http_headers
    status = None
    if http is not None and record.rec_type in _EXCHANGE_TYPES:
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            status = None
    payload_length = None
    if record.rec_type == "response":
        payload_length = 0
        while chunk := record.raw_stream.read(1 << 16):
            payload_length += len(chunk)
    return Found(
        record_id=headers.get_header("WARC-Record-ID"),
        record_type=record.rec_type,
        target_uri=headers.get_header("WARC-Target-URI") or "",
        warc_date=headers.get_header("WARC-Date") or "",
        locator=Locator(path.name, offset, length),
        position=(number, offset),
        refers_to=headers.get_header("WARC-Refers-To"),
        payload_digest=headers.get_header("WARC-Payload-Digest"),
        truncated=bool(headers.get_header("WARC-Truncated")),
        status=status,
        location=last_header(http, "Location") if status else None,
        content_type=last_header(http, "Content-Type") if status else None,
        payload_length=payload_length,
    )


def _metadata_fields(record: Any) -> dict[str, Any] | None:
    try:
        fields = json.loads(record.raw_stream.read())
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    preview = fields.get("preview")
    if isinstance(preview, dict):
        fields["preview"] = {k: v for k, v in preview.items() if k != "full_text_preview"}
    return fields


def _scan_file(scan: WarcScan, number: int, path: Path) -> None:
    with open(path, "rb") as fh:
        for item in walk_members(fh):
            if isinstance(item, Damage):
                scan.unreadable.append((path, f"bytes {item.start} to {item.end} are damaged"))
                continue
            offset, length = item
            try:
                record = record_at(fh, offset, length)
                scan.records += 1
                if record.rec_type in _EXCHANGE_TYPES:
                    found = _found(record, number, path, offset, length)
                    scan.exchanges[found.record_id] = found
                    scan.by_uri.setdefault(found.target_uri, []).append(found)
                elif record.rec_type == "metadata":
                    fields = _metadata_fields(record)
                    if fields is not None:
                        scan.metadata.append((_found(record, number, path, offset, length), fields))
            except READ_ERRORS as exc:
                scan.unreadable.append((path, f"record at offset {offset}: {exc}"))


def scan_warcs(paths: Iterable[Path], progress: Progress | None = None) -> WarcScan:
    """Read every record of ``paths`` (in write order: sorted by name) once."""
    scan = WarcScan(files=list(paths))
    for number, path in enumerate(scan.files):
        try:
            _scan_file(scan, number, path)
        except OSError as exc:
            scan.unreadable.append((path, str(exc)))
        if progress:
            progress("read", number + 1, len(scan.files))
    return scan


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
    with open_stored(directory, final.locator) as stored:
        headers = stored.http_headers
        body = stored.payload.read() if payload_record is final else None
    if body is None:
        with open_stored(directory, payload_record.locator) as stored:
            body = stored.payload.read()
    return decoded_payload(body, headers)


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


# -- resources and link state --------------------------------------------------------------


def _free_number(session: Session, wanted: int) -> int:
    number = wanted
    while session.scalar(select(Resource.number).where(Resource.number == number)) is not None:
        number += 1
    return number


def new_resource(
    session: Session, item: Rebuilt, first: datetime, last: datetime, salt: str
) -> Resource:
    """A resource the store lost, rebuilt from what its captures' metadata says."""
    rid = item.outcome.resource_id
    # The capture id encodes the number the resource had, even after a collision moved it.
    key = ids.decode_capture_id(item.outcome.capture_id, salt)
    number = _free_number(session, key.resource_number if key else ids.resource_number(rid))
    stable_id = item.stable_id or ids.stable_id_for(number, salt)
    if session.scalar(select(Resource.resource_id).where(Resource.stable_id == stable_id)):
        stable_id = ids.stable_id_for(number, salt)  # taken meanwhile by an import
    url = item.outcome.requested_url
    try:
        key_of_url = url_key(url)
    except ValueError:
        key_of_url = url
    resource = Resource(
        resource_id=rid,
        number=number,
        stable_id=stable_id,
        stable_id_source="generated" if stable_id == ids.stable_id_for(number, salt) else "input",
        url=url,
        url_key=key_of_url,
        host=host_of(url),
        tags=[],
        cited_by=[],
        meta={},
        link_state=LinkState.UNKNOWN,
        consecutive_failures=0,
        first_seen_at=first,
        last_seen_at=last,
    )
    session.add(resource)
    return resource


def replay_link_state(
    session: Session, resource: Resource, refresh_days: float, by_type: dict[str, float]
) -> int:
    """Reset the resource to never checked and apply its captures in time order, as the
    crawls did one by one; returns the number of link events recorded."""
    resource.link_state = LinkState.UNKNOWN
    resource.state_since = None
    resource.consecutive_failures = 0
    resource.failure_kind = None
    resource.last_failure_at = None
    resource.last_checked_at = None
    resource.last_ok_capture_id = None
    session.execute(delete(LinkEvent).where(LinkEvent.resource_id == resource.resource_id))
    captures = session.scalars(
        select(Capture)
        .options(
            load_only(
                Capture.capture_id,
                Capture.requested_url,
                Capture.final_url,
                Capture.http_status,
                Capture.error_class,
                Capture.fetched_at,
            )
        )
        .where(Capture.resource_id == resource.resource_id)
        .order_by(Capture.fetched_at, Capture.capture_id)
    ).all()
    refresh = refresh_interval(resource, refresh_days, by_type)
    events = 0
    for c in captures:
        check = Check(c.requested_url, c.final_url, c.http_status, c.error_class, c.capture_id)
        event = apply_check(resource, check, c.fetched_at, refresh)
        if event is not None:
            session.add(event)
            events += 1
    return events


# -- the whole run -------------------------------------------------------------------------


@dataclass
class ReindexReport:
    dry_run: bool = False
    files: int = 0
    records: int = 0
    metadata_records: int = 0
    captures_rebuilt: int = 0
    captures_present: int = 0
    resources_created: int = 0
    resources_replayed: int = 0
    link_events: int = 0
    #: metadata records without a usable capture id / resource id / time, or repeated
    skipped: int = 0
    #: redirect hops whose record was not found in any file
    missing_hops: int = 0
    previews: PreviewCounts = field(default_factory=PreviewCounts)
    repairs: list[RepairReport] = field(default_factory=list)
    #: ``.open`` files not read: in use by a crawl, damaged, or (dry run) not repaired
    open_files: list[Path] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would rebuild" if self.dry_run else "rebuilt"
        created = "would create" if self.dry_run else "created"
        return (
            f"{self.files} files, {self.records} records, {self.metadata_records} captures "
            f"described: {verb} {self.captures_rebuilt}, {self.captures_present} already "
            f"present; {created} {self.resources_created} resources"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "files": self.files,
            "records": self.records,
            "metadata_records": self.metadata_records,
            "captures_rebuilt": self.captures_rebuilt,
            "captures_present": self.captures_present,
            "resources_created": self.resources_created,
            "resources_replayed": self.resources_replayed,
            "link_events": self.link_events,
            "skipped": self.skipped,
            "missing_hops": self.missing_hops,
            "previews_extracted": self.previews.extracted,
            "previews_differing": self.previews.differs,
            "previews_from_metadata": self.previews.from_metadata,
            "repairs": [{"path": str(r.path), "action": r.action} for r in self.repairs],
            "open_files": [str(p) for p in self.open_files],
            "unreadable": [{"path": str(p), "problem": why} for p, why in self.unreadable],
        }


def _known_records(session: Session) -> tuple[set[str], dict[str, str]]:
    rows = session.execute(select(Capture.capture_id, Capture.warc_record_id)).all()
    return {cid for cid, _ in rows}, {rid: cid for cid, rid in rows if rid}


def reindex(
    store: Store,
    *,
    dry_run: bool = False,
    refresh_by_type: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> ReindexReport:
    """Rebuild every capture row the WARCs describe and the store lacks.

    Existing rows are left as they are, so a second run adds nothing. Each resource is
    rebuilt in its own transaction: an interrupted run leaves whole resources, and a
    rerun finishes the rest. The caller keeps crawls out meanwhile (the crawl lock).
    """
    config = store.config
    directory = config.warc_dir
    report = ReindexReport(dry_run=dry_run)
    if directory.exists() and not dry_run:
        # Cut torn tails first (design.md §1); files a live crawl holds are left alone.
        report.repairs = repair_open_files(directory)
    if directory.exists():
        report.open_files = sorted(directory.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}"))
    files = sorted(directory.glob(f"*{WARC_SUFFIX}")) if directory.exists() else []
    scan = scan_warcs(files, progress)
    report.files, report.records = len(files), scan.records
    report.metadata_records = len(scan.metadata)
    report.unreadable = scan.unreadable

    with store.session() as session:
        present, record_captures = _known_records(session)
        resources = set(session.scalars(select(Resource.resource_id)))
    rebuilt, report.skipped = rebuild_outcomes(scan, record_captures)
    by_capture = {r.outcome.capture_id: r for r in rebuilt}
    todo: dict[str, list[Rebuilt]] = {}
    for item in rebuilt:
        if item.outcome.capture_id in present:
            report.captures_present += 1
        else:
            todo.setdefault(item.outcome.resource_id, []).append(item)
    report.resources_created = sum(rid not in resources for rid in todo)
    report.captures_rebuilt = sum(len(items) for items in todo.values())
    if dry_run:
        return report

    # The crawl's per-type refresh (a Scrapy setting), unless the caller knows better.
    by_type = base.ARCHIVE_REFRESH_DAYS_BY_TYPE if refresh_by_type is None else refresh_by_type
    done = 0
    for rid, items in todo.items():
        items.sort(key=lambda r: (r.outcome.fetched_at, r.outcome.capture_id))
        with store.session() as session:
            resource = session.get(Resource, rid)
            if resource is None:
                times = [r.outcome.fetched_at for r in items]
                resource = new_resource(
                    session, items[0], min(times), max(times), config.hashids_salt
                )
            for item in items:
                item.outcome.preview = rebuild_preview(directory, item, by_capture, report.previews)
                capture_row(session, item.outcome)
                item.outcome.preview = None  # up to 5 MB of text: not kept past its row
                report.missing_hops += item.missing_hops
                done += 1
                if progress:
                    progress("rebuild", done, report.captures_rebuilt)
            report.link_events += replay_link_state(session, resource, config.refresh_days, by_type)
            report.resources_replayed += 1
    return report
