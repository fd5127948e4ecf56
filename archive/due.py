"""Which resources a crawl takes: the due ones, or a chosen few."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from archive.models import Resource


def due_query(
    now: datetime,
    *,
    limit: int | None = None,
    type_: str | None = None,
    host: str | None = None,
    everything: bool = False,
) -> Select[tuple[Resource]]:
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
        query = query.where(Resource.type == type_)
    if host:
        bare = host.lower().removeprefix("www.")
        query = query.where(Resource.host.in_([bare, f"www.{bare}"]))
    if limit:
        query = query.limit(limit)
    return query


def select_due(session: Session, now: datetime, **filters: object) -> Sequence[Resource]:
    return session.scalars(due_query(now, **filters)).all()  # type: ignore[arg-type]
