"""The viewer's lookup layer: everything it asks the store, and nothing else.

Listings never load a capture's text (up to 5 MB each); only the one capture a page
shows in full is read whole. Every query is plain SQLAlchemy Core/ORM that SQLite and
PostgreSQL both run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defer

from archive.inspect.history import capture_history, last_text_captures
from archive.registry.lookup import NotFound, find_resource
from archive.registry.urls import host_names
from archive.store.models import Capture, LinkEvent, Resource

PAGE_SIZE = 100


@dataclass(frozen=True)
class ResourceFilter:
    state: str = ""
    type: str = ""
    host: str = ""
    text: str = ""
    page: int = 1

    @property
    def active(self) -> bool:
        return bool(self.state or self.type or self.host or self.text)

    def query_args(self, **changes: Any) -> dict[str, Any]:
        """The filter as URL query arguments, with ``changes`` applied; empty ones dropped."""
        values = {"state": self.state, "type": self.type, "host": self.host, "q": self.text}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, 1)}


@dataclass(frozen=True)
class LastCapture:
    capture_id: str
    fetched_at: datetime
    http_status: int | None
    error_class: str | None
    page_title: str | None
    count: int


@dataclass
class ResourceListing:
    rows: list[tuple[Resource, LastCapture | None]]
    matching: int
    total: int
    by_state: list[tuple[str, int]]
    by_type: list[tuple[str, int]]
    pages: int


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(query: Any, f: ResourceFilter) -> Any:
    if f.state:
        query = query.where(Resource.link_state.in_(f.state.split(",")))
    if f.type:
        query = query.where(Resource.type == f.type)
    if f.host:  # the same rule as `archive list --host`
        query = query.where(Resource.host.in_(host_names(f.host.strip())))
    if f.text:
        pattern = _like(f.text.strip())
        query = query.where(
            or_(
                Resource.title.ilike(pattern, escape="\\"),
                Resource.url.ilike(pattern, escape="\\"),
            )
        )
    return query


def _counts(session: Session, column: Any) -> list[tuple[str, int]]:
    rows = session.execute(select(column, func.count()).group_by(column).order_by(column))
    return [(value or "", n) for value, n in rows]


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


def list_resources(session: Session, f: ResourceFilter) -> ResourceListing:
    matching = session.scalar(_filtered(select(func.count()).select_from(Resource), f)) or 0
    pages = max(1, -(-matching // PAGE_SIZE))
    page = min(max(1, f.page), pages)
    resources = session.scalars(
        _filtered(select(Resource), f)
        .order_by(Resource.url, Resource.resource_id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    last = last_captures(session, [r.resource_id for r in resources])
    by_state = _counts(session, Resource.link_state)
    return ResourceListing(
        rows=[(r, last.get(r.resource_id)) for r in resources],
        matching=matching,
        total=sum(n for _, n in by_state),
        by_state=by_state,
        by_type=_counts(session, Resource.type),
        pages=pages,
    )


@dataclass
class ResourceView:
    resource: Resource
    #: Newest first, without text.
    captures: Sequence[Capture]
    #: The capture whose preview the card shows (newest with text, else newest), text loaded.
    shown: Capture | None
    #: Per capture id: the id of the previous capture with text, to diff against.
    previous_text: dict[str, str] = field(default_factory=dict)
    events: Sequence[LinkEvent] = ()

    @property
    def title(self) -> str | None:
        """The registry's title, else the one the page itself gave when last captured."""
        return self.resource.title or (self.shown.page_title if self.shown else None)


def resource_view(session: Session, ref: str, salt: str) -> ResourceView:
    """Raises archive.registry.lookup.NotFound for an unknown resource id, stable id or URL."""
    res = find_resource(session, ref, salt)
    captures = capture_history(session, res)
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
    shown = last_text_captures(session, res, 1)
    if shown:
        shown_capture: Capture | None = shown[0]
    else:
        shown_capture = load_capture(session, captures[0].capture_id) if captures else None
    events = session.scalars(
        select(LinkEvent)
        .where(LinkEvent.resource_id == res.resource_id)
        .order_by(LinkEvent.at.desc(), LinkEvent.id.desc())
        .limit(50)
    ).all()
    return ResourceView(res, captures, shown_capture, previous, events)


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
