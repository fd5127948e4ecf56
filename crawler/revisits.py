"""Which earlier capture a new identical payload can refer to (a ``revisit`` record).

For a resource's page, the latest full capture among that resource's; for a page requisite
(no resource), the latest full response among the requisites fetched before. Both by an
index: this runs for every response the recorder writes.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.capture.record import url_hash
from archive.store.models import Capture, CaptureRequisite, Resource
from archive.warc import RevisitTarget

#: what a revisit needs of the capture it refers to (columns, not a loaded row: this
#: runs for every response)
_TARGET = select(
    Capture.warc_record_id,
    Capture.warc_date,
    Capture.payload_digest,
    Capture.is_revisit,
    Capture.revisit_of,
)


def _requisite_target(s: Session, url: str) -> RevisitTarget | None:
    """The latest full response of ``url`` fetched as a page requisite (a stylesheet
    shared by a site's pages is a revisit in every later crawl while unchanged)."""
    last = s.scalar(
        select(CaptureRequisite)
        .where(
            CaptureRequisite.final_url_hash == url_hash(url),
            CaptureRequisite.final_url == url,
            CaptureRequisite.is_revisit.is_(False),
            CaptureRequisite.status.between(200, 299),
            CaptureRequisite.payload_digest.is_not(None),
            CaptureRequisite.warc_record_id.is_not(None),
            CaptureRequisite.warc_date.is_not(None),
        )
        .order_by(CaptureRequisite.id.desc())
        .limit(1)
    )
    if last is None:
        return None
    return RevisitTarget(
        last.warc_record_id or "", url, last.warc_date or "", last.payload_digest or ""
    )


def revisit_target(s: Session, url: str, resource_id: str | None) -> RevisitTarget | None:
    """The capture of ``url`` a new identical payload can refer to, or None. Every capture
    recorded checks its resource (``apply_check``), so a resource never checked has none."""
    if resource_id is None:
        return _requisite_target(s, url)
    resource = s.get(Resource, resource_id)
    if resource is None or resource.last_checked_at is None:
        return None  # never checked, so never captured: a first crawl's every page
    last = s.execute(
        _TARGET.where(
            Capture.resource_id == resource_id,
            Capture.final_url == url,
            Capture.payload_digest.is_not(None),
            Capture.warc_record_id.is_not(None),
        )
        .order_by(Capture.fetched_at.desc())
        .limit(1)
    ).first()
    if last is not None and last.is_revisit and last.revisit_of:
        last = s.execute(_TARGET.where(Capture.capture_id == last.revisit_of)).first()
    if last is None or last.is_revisit or not last.warc_date:
        return None
    return RevisitTarget(last.warc_record_id or "", url, last.warc_date, last.payload_digest or "")
