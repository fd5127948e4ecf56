"""The viewer's lookup layer: everything it asks the store, and nothing else.

Listings never load a capture's text (up to 5 MB each); only the one capture a page
shows in full is read whole. Every query is plain SQLAlchemy Core/ORM that SQLite and
PostgreSQL both run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from archive.inspect.card import good_capture
from archive.inspect.history import capture_history
from archive.registry.lookup import NotFound, find_resource
from archive.store.models import Capture, LinkEvent, Resource


@dataclass(frozen=True)
class LastCapture:
    capture_id: str
    fetched_at: datetime
    http_status: int | None
    error_class: str | None
    page_title: str | None
    count: int


def last_captures(session: Session, resource_ids: Sequence[str]) -> dict[str, LastCapture]:
    """Each resource's newest capture and its number of captures, in two indexed queries."""
    if not resource_ids:
        return {}
    newest = (
        select(
            Capture.resource_id,
            func.max(Capture.fetched_at).label("at"),
            func.count().label("n"),
        )
        .where(Capture.resource_id.in_(list(resource_ids)))
        .group_by(Capture.resource_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Capture.resource_id,
            Capture.capture_id,
            Capture.fetched_at,
            Capture.http_status,
            Capture.error_class,
            Capture.page_title,
            newest.c.n,
        )
        .join(
            newest,
            (Capture.resource_id == newest.c.resource_id) & (Capture.fetched_at == newest.c.at),
        )
        .order_by(Capture.capture_id)
    )
    return {
        r.resource_id: LastCapture(
            r.capture_id, r.fetched_at, r.http_status, r.error_class, r.page_title, r.n
        )
        for r in rows
    }


@dataclass
class ResourceView:
    resource: Resource
    #: Newest first, without text.
    captures: Sequence[Capture]
    #: The last good capture, text loaded: the card's preview (archive.inspect.card's rule).
    good: Capture | None
    #: Per capture id: the id of the previous capture with text, to diff against.
    previous_text: dict[str, str] = field(default_factory=dict)
    events: Sequence[LinkEvent] = ()

    @property
    def latest(self) -> Capture | None:
        return self.captures[0] if self.captures else None

    @property
    def title(self) -> str | None:
        """The registry's title, else the one the page gave in its last good capture."""
        return self.resource.title or (self.good.page_title if self.good else None)


def _previous_text(session: Session, res: Resource, captures: Sequence[Capture]) -> dict[str, str]:
    with_text = set(
        session.scalars(
            select(Capture.capture_id).where(
                Capture.resource_id == res.resource_id, Capture.full_text.is_not(None)
            )
        )
    )
    previous: dict[str, str] = {}
    last_seen: str | None = None
    for c in reversed(captures):  # oldest first
        if c.capture_id in with_text:
            if last_seen is not None:
                previous[c.capture_id] = last_seen
            last_seen = c.capture_id
    return previous


def resource_view(session: Session, ref: str, salt: str) -> ResourceView:
    """Raises archive.registry.lookup.NotFound for an unknown resource id, stable id or URL."""
    res = find_resource(session, ref, salt)
    captures = capture_history(session, res)
    good = good_capture(res, list(captures))
    events = session.scalars(
        select(LinkEvent)
        .where(LinkEvent.resource_id == res.resource_id)
        .order_by(LinkEvent.at.desc(), LinkEvent.id.desc())
        .limit(50)
    ).all()
    return ResourceView(
        res,
        captures,
        load_capture(session, good.capture_id) if good is not None else None,
        _previous_text(session, res, captures),
        events,
    )


def load_capture(session: Session, capture_id: str, *, text: bool = True) -> Capture:
    """One capture (with its resource); raises NotFound for an unknown id."""
    query = select(Capture).where(Capture.capture_id == capture_id)
    if not text:
        query = query.options(defer(Capture.full_text), defer(Capture.full_text_preview))
    capture = session.scalar(query)
    if capture is None:
        raise NotFound(f"no capture with id {capture_id}")
    return capture


def adjacent(
    session: Session, capture: Capture, *, older: bool, with_text: bool = False
) -> str | None:
    """The id of the resource's capture just before (``older``) or after ``capture``;
    with ``with_text``, the nearest one that has extracted text (to diff against)."""
    query = select(Capture.capture_id).where(Capture.resource_id == capture.resource_id)
    if with_text:
        query = query.where(Capture.full_text.is_not(None))
    at, cid = Capture.fetched_at, Capture.capture_id
    if older:
        query = query.where(
            (at < capture.fetched_at) | ((at == capture.fetched_at) & (cid < capture.capture_id))
        ).order_by(at.desc(), cid.desc())
    else:
        query = query.where(
            (at > capture.fetched_at) | ((at == capture.fetched_at) & (cid > capture.capture_id))
        ).order_by(at, cid)
    return session.scalar(query.limit(1))
