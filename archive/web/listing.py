"""The viewer's resource listing: filters that all apply together, counts that follow
them, sorting and page numbers, each one a URL query argument so that a view can be
linked.

Matching follows ``archive list``: a type matches in any case and a resource without
one is ``web``; a host matches with and without ``www.``; a tag is one element of the
resource's tags. The text box matches the imported title, the URL and the title the
page itself gave in any of its captures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Text, cast, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from archive.registry.urls import host_names
from archive.store.models import DEFAULT_TYPE, Capture, Resource
from archive.web.queries import LastCapture, last_captures

PAGE_SIZE = 100
#: Sortable columns and the order a first click gives: newest first for dates.
SORTS = {"captured": "desc", "since": "desc", "title": "asc", "host": "asc"}
#: Pages linked on either side of the current one (first and last always are).
PAGE_WINDOW = 2


def page_number(args: Mapping[str, str]) -> int:
    """The ``page`` query argument, 1 when absent; ValueError when it is not a number."""
    try:
        return int(args.get("page") or 1)
    except ValueError:
        raise ValueError("page must be a number") from None


@dataclass(frozen=True)
class ResourceFilter:
    state: str = ""
    type: str = ""
    tag: str = ""
    host: str = ""
    text: str = ""
    sort: str = ""
    order: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ResourceFilter:
        """From the index's query string; ValueError for a page or sort that is not one."""
        page = page_number(args)
        sort = args.get("sort", "").strip()
        if sort and sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}")
        order = args.get("order", "").strip()
        if order not in ("", "asc", "desc"):
            raise ValueError("order must be asc or desc")
        return cls(
            state=args.get("state", "").strip(),
            type=args.get("type", "").strip().lower(),
            tag=args.get("tag", "").strip(),
            host=args.get("host", "").strip(),
            text=args.get("q", "").strip(),
            sort=sort,
            order=(order or SORTS[sort]) if sort else "",
            page=max(1, page),
        )

    @property
    def active(self) -> bool:
        return bool(self.state or self.type or self.tag or self.host or self.text)

    def query_args(self, **changes: Any) -> dict[str, Any]:
        """The view as URL query arguments, with ``changes`` applied; empty ones dropped."""
        values = {
            "state": self.state,
            "type": self.type,
            "tag": self.tag,
            "host": self.host,
            "q": self.text,
            "sort": self.sort,
            "order": self.order,
            "page": self.page,
        }
        values.update(changes)
        if not values["sort"]:
            values["order"] = ""
        return {k: v for k, v in values.items() if v not in ("", None) and (k, v) != ("page", 1)}

    def sorted_by(self, column: str) -> dict[str, Any]:
        """Arguments sorting by ``column``: the other way round if it already sorts by it."""
        if self.sort == column:
            order = "asc" if self.order == "desc" else "desc"
        else:
            order = SORTS[column]
        return self.query_args(sort=column, order=order, page=1)

    def without(self, name: str) -> ResourceFilter:
        cleared: dict[str, Any] = {name: ""}
        return replace(self, **cleared)


@dataclass
class ResourceListing:
    #: Each row: the resource, its newest capture, the title its last good capture gave.
    rows: list[tuple[Resource, LastCapture | None, str | None]]
    matching: int
    total: int
    #: Per state and per type, under every other active filter.
    by_state: list[tuple[str, int]]
    by_type: list[tuple[str, int]]
    #: Every type present, for the type choice.
    types: list[str]
    page: int
    pages: int

    @property
    def page_links(self) -> list[int | None]:
        return page_links(self.page, self.pages)


def page_links(page: int, pages: int) -> list[int | None]:
    """The first and last page and a window around the current one; None for a gap."""
    shown = {1, pages}
    shown.update(range(page - PAGE_WINDOW, page + PAGE_WINDOW + 1))
    out: list[int | None] = []
    for n in sorted(p for p in shown if 1 <= p <= pages):
        if out and out[-1] is not None and n > out[-1] + 1:
            out.append(None)
        out.append(n)
    return out


def _kind() -> Any:
    return func.lower(func.coalesce(Resource.type, DEFAULT_TYPE))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(f: ResourceFilter) -> list[Any]:
    out: list[Any] = []
    if f.state:
        out.append(Resource.link_state.in_(f.state.split(",")))
    if f.type:
        out.append(_kind() == f.type)
    if f.host:
        out.append(Resource.host.in_(host_names(f.host)))
    if f.tag:  # JSON arrays are text on every backend: match the quoted element
        out.append(cast(Resource.tags, Text).like(_like(json.dumps(f.tag)), escape="\\"))
    if f.text:
        pattern = _like(f.text)
        extracted = exists().where(
            Capture.resource_id == Resource.resource_id,
            Capture.page_title.ilike(pattern, escape="\\"),
        )
        out.append(
            or_(
                Resource.title.ilike(pattern, escape="\\"),
                Resource.url.ilike(pattern, escape="\\"),
                extracted,
            )
        )
    return out


def _counts(session: Session, column: Any, f: ResourceFilter) -> list[tuple[str, int]]:
    query = select(column, func.count()).where(*_conditions(f)).group_by(column).order_by(column)
    return [(value or "", n) for value, n in session.execute(query)]


def _ordered(query: Any, f: ResourceFilter) -> Any:
    """``query`` sorted as ``f`` asks, ties (and rows without a value, last) by URL."""
    key: Any = None
    if f.sort == "captured":
        newest = (
            select(Capture.resource_id, func.max(Capture.fetched_at).label("at"))
            .group_by(Capture.resource_id)
            .subquery()
        )
        query = query.outerjoin(newest, newest.c.resource_id == Resource.resource_id)
        key = newest.c.at
    elif f.sort == "since":
        key = Resource.state_since
    elif f.sort == "title":  # the title shown: the registry's, else the page's own
        good = aliased(Capture)
        query = query.outerjoin(good, good.capture_id == Resource.last_ok_capture_id)
        key = func.lower(func.coalesce(Resource.title, good.page_title))
    elif f.sort == "host":
        key = Resource.host
    if key is not None:
        # NULLS LAST spelled out: SQLite and PostgreSQL put NULLs at opposite ends.
        query = query.order_by(key.is_(None), key.desc() if f.order == "desc" else key)
    return query.order_by(Resource.url, Resource.resource_id)


def good_titles(session: Session, resource_ids: list[str]) -> dict[str, str]:
    """The page title of each resource's last good capture, where it gave one."""
    if not resource_ids:
        return {}
    rows = session.execute(
        select(Resource.resource_id, Capture.page_title)
        .join(Capture, Capture.capture_id == Resource.last_ok_capture_id)
        .where(Resource.resource_id.in_(resource_ids), Capture.page_title.is_not(None))
    )
    return {rid: title for rid, title in rows if title is not None}


def list_resources(
    session: Session, f: ResourceFilter, page_size: int = PAGE_SIZE
) -> ResourceListing:
    where = _conditions(f)
    matching = session.scalar(select(func.count()).select_from(Resource).where(*where)) or 0
    pages = max(1, -(-matching // page_size))
    page = min(f.page, pages)
    resources = session.scalars(
        _ordered(select(Resource).where(*where), f).limit(page_size).offset((page - 1) * page_size)
    ).all()
    ids = [r.resource_id for r in resources]
    last, titles = last_captures(session, ids), good_titles(session, ids)
    kind = _kind()  # one expression: PostgreSQL matches ORDER BY to the select list by it
    types = session.scalars(select(kind).distinct().order_by(kind)).all()
    return ResourceListing(
        rows=[(r, last.get(r.resource_id), titles.get(r.resource_id)) for r in resources],
        matching=matching,
        total=session.scalar(select(func.count()).select_from(Resource)) or 0,
        by_state=_counts(session, Resource.link_state, f.without("state")),
        by_type=_counts(session, _kind(), f.without("type")),
        types=list(types),
        page=page,
        pages=pages,
    )
