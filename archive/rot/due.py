"""Which resources a crawl takes: the due ones, or a chosen few."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from archive.registry.urls import host_names
from archive.store.models import Resource, type_is


def due_query(
    now: datetime,
    *,
    limit: int | None = None,
    type_: str | None = None,
    host: str | None = None,
    everything: bool = False,
) -> Select[Any]:
    """Resources whose ``next_due_at`` has passed, oldest due first.

    One range scan of the ``next_due_at`` index, so it stays fast with millions of
    rows; never-captured resources are due from their import time.
    """
    query = select(Resource)
    if not everything:
        query = query.where(Resource.next_due_at <= now).order_by(Resource.next_due_at)
    else:
        query = query.order_by(Resource.resource_id)
    if type_:
        query = query.where(type_is(type_))
    if host:
        query = query.where(Resource.host.in_(host_names(host)))
    if limit:
        query = query.limit(limit)
    return query


def due_refs(session: Session, now: datetime, **filters: Any) -> list[tuple[str, str]]:
    """(resource_id, url) of the due resources: all a crawl needs to start. Building
    10,000 full ORM objects costs ~0.5 s; these two columns ~0.07 s (bench/due_query.py)."""
    query = due_query(now, **filters).with_only_columns(Resource.resource_id, Resource.url)
    return [(rid, url) for rid, url in session.execute(query)]
