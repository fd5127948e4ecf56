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

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

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
    total: int
    page: int
    pages: int


_COLUMNS = (
    Capture.capture_id,
    Capture.resource_id,
    Resource.stable_id,
    func.coalesce(Resource.title, Capture.page_title),
    func.coalesce(Capture.final_url, Capture.requested_url),
    Capture.fetched_at,
    Capture.http_status,
    Resource.link_state,
)


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
    found = match(session.get_bind().dialect.name, query)
    base = select(*_COLUMNS, found.score.label("score")).select_from(Capture)
    counting = select(func.count()).select_from(Capture)
    if found.source is not None:
        base, counting = base.join(found.source, found.on), counting.join(found.source, found.on)
    where = [found.where, *filters.conditions()]
    on = Resource.resource_id == Capture.resource_id
    base = base.join(Resource, on).where(*where)
    total = session.scalar(counting.join(Resource, on).where(*where)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    ordered = base.order_by(found.order, Capture.fetched_at.desc(), Capture.capture_id)
    rows = session.execute(ordered.limit(page_size).offset((page - 1) * page_size)).all()
    texts = _texts(session, [r[0] for r in rows])
    hits = []
    for cid, rid, sid, title, url, fetched_at, status, state, score in rows:
        hit = SearchHit(cid, rid, sid, title, url, fetched_at, status, state, float(score or 0))
        hit.replay_url = replay_url(viewer, cid)
        hit.snippet = snippet(texts.get(cid), query)
        hits.append(hit)
    return SearchResults(query, hits, total, page, pages)
