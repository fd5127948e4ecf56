"""Finding archived pages by their words: ``archive search`` and the viewer's search.

By default each resource is found by its last good capture (the one its card previews):
a page whose latest good copy no longer says a word is not found by it. ``all_captures``
finds every capture with text that matches, of any resource, good or not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, Text, cast, func, literal, literal_column, select
from sqlalchemy import text as sa_text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from archive.inspect.snippets import Snippet, snippet
from archive.registry.urls import host_names
from archive.rot.reports import replay_url
from archive.store.db import chunks
from archive.store.fulltext import match
from archive.store.models import Capture, Resource, type_is
from archive.store.search_syntax import TEXT_CAP, QueryError, SearchQuery, parse_query

__all__ = ["QueryError", "SearchFilter", "SearchHit", "SearchResults", "search"]

#: Results a page.
PAGE_SIZE = 20
#: Matches counted, and paged through: past it a search says there are more.
COUNT_MAX = 1_000


@dataclass(frozen=True)
class SearchFilter:
    """What narrows a search, as ``archive list`` and the viewer's index narrow resources."""

    states: tuple[str, ...] = ()
    type: str = ""
    tag: str = ""
    host: str = ""
    since: datetime | None = None
    all_captures: bool = False

    def conditions(self) -> list[Any]:
        out: list[Any] = []
        if self.states:
            out.append(Resource.link_state.in_(self.states))
        if self.type:
            out.append(type_is(self.type))
        if self.host:
            out.append(Resource.host.in_(host_names(self.host)))
        if self.tag:  # JSON arrays are text on every backend: match the quoted element
            quoted = json.dumps(self.tag)
            for special in ("\\", "%", "_"):
                quoted = quoted.replace(special, "\\" + special)
            out.append(cast(Resource.tags, Text).like(f"%{quoted}%", escape="\\"))
        if self.since is not None:
            out.append(Capture.fetched_at >= self.since)
        if not self.all_captures:
            out.append(Resource.last_ok_capture_id == Capture.capture_id)
        return out


@dataclass
class SearchHit:
    capture_id: str
    resource_id: str
    stable_id: str
    #: the registry's title, else the page's own
    title: str | None
    url: str
    fetched_at: datetime
    http_status: int | None
    link_state: str
    score: float
    replay_url: str = ""
    snippet: Snippet = field(default_factory=lambda: Snippet(""))

    def as_json(self) -> dict[str, Any]:
        return {
            "capture_id": self.capture_id,
            "resource_id": self.resource_id,
            "stable_id": self.stable_id,
            "title": self.title,
            "url": self.url,
            "fetched_at": self.fetched_at.isoformat(),
            "http_status": self.http_status,
            "link_state": self.link_state,
            "score": round(self.score, 6),
            "replay_url": self.replay_url,
            "snippet": self.snippet.text,
            "highlights": [list(m) for m in self.snippet.marks],
        }


@dataclass
class SearchResults:
    query: SearchQuery
    hits: list[SearchHit]
    #: how many match, counted to COUNT_MAX
    total: int
    page: int
    pages: int
    #: more than COUNT_MAX match (the pages go that far)
    more: bool = False


_COLUMNS = (
    Capture.capture_id,
    Capture.resource_id,
    Resource.stable_id,
    func.coalesce(Resource.title, Capture.page_title).label("title"),
    func.coalesce(Capture.final_url, Capture.requested_url).label("url"),
    Capture.fetched_at,
    Capture.http_status,
    Resource.link_state,
)
#: SQLite reads a large store's pages through a memory map: a common word's matches are
#: found all over the captures table (a third faster on 100,000 captures).
_SQLITE_MMAP = "PRAGMA mmap_size = 1073741824"


Row = tuple[Any, ...]


def _matching(query: SearchQuery, dialect: str, filters: SearchFilter) -> Subquery:
    """Every matching capture (of the filters), with its score."""
    found = match(dialect, query)
    base = select(*_COLUMNS, found.score.label("score")).select_from(Capture)
    if found.source is not None:
        base = base.join(found.source, found.on)
    base = base.join(Resource, Resource.resource_id == Capture.resource_id)
    return base.where(found.where, *filters.conditions()).subquery("matching")


def _every_match(
    session: Session, query: SearchQuery, dialect: str, filters: SearchFilter, at: int, size: int
) -> tuple[list[Row], int]:
    """One page, every match ranked to find it, and how many match in all (counted in the
    same pass; apart only past the last page)."""
    matching = _matching(query, dialect, filters)
    c = matching.c
    ranked = select(*c, func.count().over().label("total"))
    ranked = ranked.order_by(c.score.desc(), c.fetched_at.desc(), c.capture_id)
    rows = list(session.execute(ranked.limit(size).offset(at)))
    if rows:
        return [tuple(r)[:-1] for r in rows], int(rows[0].total)
    total = session.scalar(select(func.count()).select_from(matching)) or 0
    return [], int(total)


def _ranked(rows: list[Row]) -> list[Row]:
    """Best first; ties the newest first, then by capture id (the SQL's order)."""
    rows = sorted(rows, key=lambda r: r[0])
    rows.sort(key=lambda r: r[5], reverse=True)
    rows.sort(key=lambda r: r[8], reverse=True)
    return rows


def _best_first(
    session: Session, query: SearchQuery, filters: SearchFilter, at: int, size: int
) -> tuple[list[Row], int] | None:
    """SQLite: the index alone ranks its best matches (cheap), and only those are looked
    up and filtered; None when they do not settle the page (too few pass the filters, or
    one left out could tie). A common word's thousands of matches are never all read."""
    found = match("sqlite", query)
    need = at + size
    k = max(4 * need, 200)
    fts = found.source
    best = select(fts.c.rowid, found.score).where(found.where)
    scores: dict[int, float] = {
        rid: score for rid, score in session.execute(best.order_by(found.score.desc()).limit(k))
    }
    rowid: ColumnElement[Any] = literal_column("captures.rowid")
    rows: list[Row] = []
    for ids in chunks(list(scores)):
        looked_up = select(rowid, *_COLUMNS).join(
            Resource, Resource.resource_id == Capture.resource_id
        )
        for r in session.execute(looked_up.where(rowid.in_(ids), *filters.conditions())):
            rows.append((*tuple(r)[1:], scores[r[0]]))
    rows = _ranked(rows)
    everything = len(scores) < k
    if not everything and (len(rows) < need or rows[need - 1][8] <= min(scores.values())):
        return None
    if everything:
        return rows[at:need], len(rows)
    counted = select(literal(1)).select_from(Capture).join(fts, found.on)
    counted = counted.join(Resource, Resource.resource_id == Capture.resource_id)
    counted = counted.where(found.where, *filters.conditions()).limit(COUNT_MAX + 1)
    return rows[at:need], session.scalar(select(func.count()).select_from(counted.subquery())) or 0


def _texts(session: Session, capture_ids: list[str]) -> dict[str, str | None]:
    """The indexed part of each capture's text, read for the hits of one page only."""
    out: dict[str, str | None] = {}
    for ids in chunks(capture_ids):
        query = select(Capture.capture_id, func.substr(Capture.full_text, 1, TEXT_CAP))
        for capture_id, text in session.execute(query.where(Capture.capture_id.in_(ids))):
            out[capture_id] = text
    return out


def search(
    session: Session,
    text: str | SearchQuery,
    filters: SearchFilter = SearchFilter(),
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    viewer: str = "",
) -> SearchResults:
    """One page of the captures matching ``text``, best first; QueryError for a query
    that has nothing to search for (or is too long)."""
    query = parse_query(text) if isinstance(text, str) else text
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(sa_text(_SQLITE_MMAP))
    pages_max = -(-COUNT_MAX // page_size)
    page = min(max(1, page), pages_max)
    rows, count = _page(session, query, dialect, filters, page, page_size)
    total = min(count, COUNT_MAX)
    pages = max(1, -(-total // page_size))
    if not rows and page > pages and total:  # past the last page: the last page
        page = pages
        rows, count = _page(session, query, dialect, filters, page, page_size)
    texts = _texts(session, [r[0] for r in rows])
    hits = []
    for cid, rid, sid, title, url, fetched_at, status, state, score in rows:
        hit = SearchHit(cid, rid, sid, title, url, fetched_at, status, state, float(score or 0))
        hit.replay_url = replay_url(viewer, cid)
        hit.snippet = snippet(texts.get(cid), query)
        hits.append(hit)
    return SearchResults(query, hits, total, page, pages, more=count > COUNT_MAX)


def _page(
    session: Session, query: SearchQuery, dialect: str, f: SearchFilter, page: int, size: int
) -> tuple[list[Row], int]:
    at = (page - 1) * size
    got = _best_first(session, query, f, at, size) if dialect == "sqlite" else None
    return got if got is not None else _every_match(session, query, dialect, f, at, size)
