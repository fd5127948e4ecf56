"""Recording one fetch attempt in the store: the capture row, its metadata record's
contents, the link state.

Called by the crawler only after the attempt's WARC records are flushed, so a
row never points at bytes that are not on disk (docs/design.md §1).
"""

from __future__ import annotations

import difflib
import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.capture.outcome import FetchOutcome
from archive.capture.preview import FULL_TEXT_MAX, PREVIEW_MAX, Preview, clip, text_hash
from archive.capture.schema import PREVIEW_FIELDS, CaptureRecord, PreviewRecord, Requisite
from archive.registry import ids
from archive.rot.linkstate import Check, apply_check, refresh_interval
from archive.store.models import Capture, CaptureRequisite, Resource


def outcome_record(
    outcome: FetchOutcome,
    stable_id: str | None,
    job_id: int | None,
    preview: PreviewRecord | None,
) -> CaptureRecord:
    """What the capture's metadata record says: everything the row holds but the
    preview's full text (``preview`` is the preview as the record carries it)."""
    return CaptureRecord(
        capture_id=outcome.capture_id,
        resource_id=outcome.resource_id,
        requested_url=outcome.requested_url,
        fetched_at=outcome.fetched_at,
        stable_id=stable_id,
        job_id=job_id,
        final_url=outcome.final_url,
        http_status=outcome.http_status,
        content_type=outcome.content_type,
        hop_urls=[hop.url for hop in outcome.hops],
        hops=list(outcome.hops),
        payload_length=outcome.payload_length,
        payload_digest=outcome.payload_digest,
        truncated=outcome.truncated,
        is_revisit=outcome.is_revisit,
        revisit_of=outcome.revisit_of,
        warc_date=outcome.warc_date,
        error_class=outcome.error_class,
        error_message=outcome.error_message,
        duration_ms=outcome.duration_ms,
        fetch_method=outcome.fetch_method,
        preview=preview,
        requisites=list(outcome.requisites),
        requisites_cut=outcome.requisites_cut,
        requisites_left_out=outcome.requisites_left_out,
    )


def change_size(old: str, new: str) -> int:
    """Characters on lines added or removed between two texts."""
    diff = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
    return sum(
        len(line) - 1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )


def new_capture_id(session: Session, resource: Resource, when: datetime, salt: str) -> str:
    """Capture id for (resource, second); a sequence number separates same-second attempts."""
    pending = {row.capture_id for row in session.new if isinstance(row, Capture)}
    # Recording a capture checks its resource (apply_check): one never checked has no
    # capture in the store, only perhaps pending ones in this session.
    stored = resource.last_checked_at is not None
    for sequence in range(1000):
        cid = ids.capture_id_for(resource.number, when, salt, sequence)
        taken = select(Capture.capture_id).where(Capture.capture_id == cid)
        if cid in pending or (stored and session.scalar(taken) is not None):  # no row loaded
            continue
        return cid
    raise RuntimeError("more than 1000 captures of one resource in one second")


def previous_text_capture(
    session: Session, resource_id: str, before: datetime, stored: bool = True
) -> Capture | None:
    """The resource's last capture with text before ``before``: in the store, or added to
    the session and not flushed yet (a session without autoflush holds a group's rows).
    ``stored=False``: the store holds none of the resource's (it was never checked)."""
    found = (
        None
        if not stored
        else session.scalar(
            select(Capture)
            .where(
                Capture.resource_id == resource_id,
                Capture.content_hash.is_not(None),
                Capture.fetched_at < before,
            )
            .order_by(Capture.fetched_at.desc())
            .limit(1)
        )
    )
    for row in session.new:
        if (
            isinstance(row, Capture)
            and row.resource_id == resource_id
            and row.content_hash is not None
            and row.fetched_at < before
            and (found is None or row.fetched_at > found.fetched_at)
        ):
            found = row
    return found


def capture_row(
    session: Session, outcome: FetchOutcome, flush: bool = True, stored: bool = True
) -> Capture:
    """Insert the capture row with its preview and change flag (link state untouched);
    ``flush=False`` leaves it pending, for a caller that flushes many rows at once;
    ``stored=False`` says the store holds no capture of its resource yet."""
    columns = {k: v for k, v in vars(outcome).items() if k not in ("preview", "hops", "requisites")}
    capture = Capture(**columns, redirect_chain=[hop.to_json() for hop in outcome.hops])
    capture.requisites = [requisite_row(n, r) for n, r in enumerate(outcome.requisites)]
    if outcome.preview is not None:
        apply_preview(session, capture, outcome.preview, stored)
    session.add(capture)
    if flush:
        session.flush()
    return capture


def apply_preview(
    session: Session, capture: Capture, preview: Preview, stored: bool = True
) -> None:
    """Give ``capture`` its preview: the text, its metadata, and whether the text changed
    since the resource's previous capture with text."""
    if preview.full_text:
        text = clip(preview.full_text, FULL_TEXT_MAX)
        capture.full_text = text
        capture.full_text_preview = clip(text, PREVIEW_MAX)
        capture.content_length = len(text)
        capture.content_hash = text_hash(text)
        previous = previous_text_capture(session, capture.resource_id, capture.fetched_at, stored)
        if previous is not None:
            capture.text_changed = previous.content_hash != capture.content_hash
            capture.change_size = (
                change_size(previous.full_text or "", text) if capture.text_changed else 0
            )
    for name in (*PREVIEW_FIELDS, "extractor"):
        setattr(capture, name, getattr(preview, name))
    capture.fetch_method = capture.fetch_method or "scrapy"


def url_hash(url: str) -> str:
    """What ``capture_requisites.final_url_hash`` holds for ``url``."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def requisite_row(position: int, requisite: Requisite) -> CaptureRequisite:
    """The row of one requisite of a capture; its record is its final exchange's."""
    final = requisite.final_hop
    return CaptureRequisite(
        position=position,
        url=requisite.url,
        kind=requisite.kind,
        found_in=requisite.found_in,
        final_url=final.url if final else None,
        final_url_hash=url_hash(final.url) if final else None,
        status=requisite.status,
        content_type=requisite.content_type,
        error_class=requisite.error_class,
        error_message=requisite.error_message,
        hops=[hop.to_json() for hop in requisite.hops],
        warc_record_id=final.record_id if final else None,
        warc_date=final.warc_date if final else None,
        payload_digest=final.payload_digest if final else None,
        is_revisit=bool(final and final.revisit_of_record),
    )


def record_capture(
    session: Session,
    outcome: FetchOutcome,
    *,
    refresh_days: float,
    refresh_by_type: dict[str, float] | None = None,
    now: datetime | None = None,
    resource: Resource | None = None,
    flush: bool = True,
) -> Capture:
    """Insert the capture row and apply it to the resource's link state and due time
    (``resource``: its row, when the caller holds it already; ``flush``: as for
    :func:`capture_row`)."""
    resource = resource or session.get(Resource, outcome.resource_id)
    if resource is None:
        raise LookupError(
            f"capture {outcome.capture_id} names unknown resource {outcome.resource_id}"
        )
    # Recording a capture checks its resource (apply_check, below): one never checked has
    # no capture in the store to compare its text with.
    capture = capture_row(session, outcome, flush, stored=resource.last_checked_at is not None)
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
