"""The viewer's search: archived pages by their titles, URLs and text, with the filters
of the index (state, type, tag, host), each one a URL query argument, and page numbers.

A query that has nothing to search for (only punctuation, or too long) is said so on the
page, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.inspect.search import QueryError, SearchFilter, SearchResults, search
from archive.store.models import DEFAULT_TYPE, LinkState, Resource
from archive.web.listing import page_links, page_number

PAGE_SIZE = 20


@dataclass(frozen=True)
class SearchArgs:
    text: str = ""
    state: str = ""
    type: str = ""
    tag: str = ""
    host: str = ""
    since: str = ""
    all_captures: bool = False
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> SearchArgs:
        """From the query string; ValueError for a page, state or date that is not one."""
        page = page_number(args)
        state = args.get("state", "").strip().lower()
        if state and state not in {str(s) for s in LinkState}:
            raise ValueError(f"unknown link state {state!r}")
        made = cls(
            text=args.get("q", "").strip(),
            state=state,
            type=args.get("type", "").strip().lower(),
            tag=args.get("tag", "").strip(),
            host=args.get("host", "").strip(),
            since=args.get("since", "").strip(),
            all_captures=args.get("all") == "1",
            page=max(1, page),
        )
        made.since_time()  # checked now
        return made

    def since_time(self) -> datetime | None:
        if not self.since:
            return None
        try:
            when = datetime.fromisoformat(self.since)
        except ValueError:
            raise ValueError(f"since must be a date like 2026-04-09, not {self.since!r}") from None
        return when if when.tzinfo else when.replace(tzinfo=UTC)

    def filters(self) -> SearchFilter:
        return SearchFilter(
            states=(self.state,) if self.state else (),
            type=self.type,
            tag=self.tag,
            host=self.host,
            since=self.since_time(),
            all_captures=self.all_captures,
        )

    def query_args(self, **changes: Any) -> dict[str, Any]:
        """The view as URL query arguments, with ``changes`` applied; empty ones dropped."""
        values: dict[str, Any] = {
            "q": self.text,
            "state": self.state,
            "type": self.type,
            "tag": self.tag,
            "host": self.host,
            "since": self.since,
            "all": "1" if self.all_captures else "",
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None) and (k, v) != ("page", 1)}


@dataclass
class SearchPage:
    args: SearchArgs
    #: None before anything is asked, or when the query could not be searched
    results: SearchResults | None
    #: why the query could not be searched
    problem: str | None
    types: list[str]
    page_size: int = PAGE_SIZE

    @property
    def first(self) -> int:
        """The number of the page's first hit."""
        return ((self.results.page if self.results else 1) - 1) * self.page_size + 1

    @property
    def page_links(self) -> list[int | None]:
        if self.results is None:
            return []
        return page_links(self.results.page, self.results.pages)


def search_page(
    session: Session, args: SearchArgs, viewer: str, page_size: int = PAGE_SIZE
) -> SearchPage:
    kind = func.lower(func.coalesce(Resource.type, DEFAULT_TYPE))
    types = list(session.scalars(select(kind).distinct().order_by(kind)))
    if not args.text:
        return SearchPage(args, None, None, types, page_size)
    try:
        found = search(
            session, args.text, args.filters(), page=args.page, page_size=page_size, viewer=viewer
        )
    except QueryError as exc:
        return SearchPage(args, None, str(exc), types, page_size)
    return SearchPage(args, found, None, types, page_size)
