"""What a crawl captures, read once at its start: its list imported first (``source``,
``url``), then the resources named, or those due.

The recorder process (crawler/record_path.py) selects for the ``resources`` spider, with
the store it has open: the session asks as soon as the crawl is made, and the recorder
imports and selects while Scrapy builds its engine, instead of the reactor doing it after.
The frontier's first worker and ``archive enqueue`` select what they queue with it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store's side only: the spider needs just the dataclasses
    from archive.store.db import Store


@dataclass(frozen=True)
class Wanted:
    """The spider's arguments that choose its resources (sent to the recorder pickled)."""

    source: str | None = None
    ids: tuple[str, ...] = ()
    url: str | None = None
    everything: bool = False
    limit: int | None = None
    type: str | None = None
    host: str | None = None

    @classmethod
    def of(
        cls,
        source: str | None = None,
        ids: str | None = None,
        url: str | None = None,
        all: str | None = None,  # noqa: A002 - the spider argument's name
        limit: str | int | None = None,
        type: str | None = None,  # noqa: A002
        host: str | None = None,
    ) -> Wanted:
        """From the ``resources`` spider's arguments, as given on a command line."""
        return cls(
            source or None,
            tuple(i.strip() for i in (ids or "").split(",") if i.strip()),
            url or None,
            str(all or "").lower() in ("1", "true", "yes"),
            int(limit) if limit else None,
            type or None,
            host or None,
        )


@dataclass
class Selection:
    #: (resource_id, url) of the resources to crawl, in the order to crawl them
    chosen: list[tuple[str, str]]
    #: those whose input says ``fetch_method: browser``
    in_browser: set[str] = field(default_factory=set)
    #: what importing the lists came to, one line each (for the crawl's log)
    imported: list[str] = field(default_factory=list)


def select_resources(store: Store, wanted: Wanted, now: datetime) -> Selection:
    """Import what ``wanted`` names, then choose: those named, else those due."""
    from sqlalchemy import select

    from archive.registry.importer import Importer
    from archive.rot.due import due_refs
    from archive.store.models import Resource

    chosen: list[str] = []
    imported: list[str] = []
    if wanted.source or wanted.url:
        importer = Importer(store, now=now)
        if wanted.source:
            report = importer.import_file(Path(wanted.source))
            if report.error:
                raise ValueError(report.error)
            imported.append(report.summary())
            chosen += report.resource_ids
        if wanted.url:
            path = store.config.home / "logs" / "crawl-url.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(wanted.url + "\n")
            report = importer.import_file(path)
            if report.error or report.rejected:
                raise ValueError(report.error or report.rejected[0].reason)
            chosen += report.resource_ids
    with store.session() as s:
        wants_browser = Resource.meta["fetch_method"].as_string() == "browser"
        in_browser = set(s.scalars(select(Resource.resource_id).where(wants_browser)))
        if wanted.ids or chosen:
            from archive.registry.lookup import find_resource

            salt = store.config.hashids_salt
            rows = {r.resource_id: r.url for r in (find_resource(s, i, salt) for i in wanted.ids)}
            # two columns, not whole rows: there may be 6,000 of them
            listed = select(Resource.resource_id, Resource.url)
            listed = listed.where(Resource.resource_id.in_(chosen))
            rows |= dict(s.execute(listed).tuples().all())
            items = list(rows.items())
            return Selection(items[: wanted.limit] if wanted.limit else items, in_browser, imported)
        due = due_refs(
            s,
            now,
            limit=wanted.limit,
            type_=wanted.type,
            host=wanted.host,
            everything=wanted.everything,
        )
        return Selection(due, in_browser, imported)
