"""captures timed by their own exchange

Releases before this one gave every capture of a crawl the crawl's start as its
``fetched_at`` (and so to the link-state times taken from it), hours off on a long
crawl. The WARC is the truth: each capture's time becomes the WARC-Date of its response
(or revisit) record, which its row keeps in ``warc_date``. A failure after redirects
takes the date of the last record it left (its last hop); a failure that left no record
keeps its time, there being nothing better to take it from.

The resource's times that were that check's time move with it: ``last_checked_at``,
``state_since`` and ``last_failure_at`` where they equal the old time of one of its
captures, ``next_due_at`` by as much as ``last_checked_at`` moved (it was counted from
it: "dead" needs checks 72 h apart), and each link event's ``at`` where it equals the
old time of the capture it names. Everything else is left as it is.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from warcio.timeutils import iso_date_to_datetime

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Resources corrected per round: bounded memory, and IN lists SQLite accepts.
BATCH = 500

_TIME = sa.DateTime(timezone=True)
_captures = sa.table(
    "captures",
    sa.column("capture_id", sa.String),
    sa.column("resource_id", sa.String),
    sa.column("fetched_at", _TIME),
    sa.column("warc_date", sa.String),
    sa.column("redirect_chain", sa.JSON),
)
_RESOURCE_TIMES = ("last_checked_at", "state_since", "last_failure_at", "next_due_at")
_resources = sa.table(
    "resources",
    sa.column("resource_id", sa.String),
    *(sa.column(name, _TIME) for name in _RESOURCE_TIMES),
)
_events = sa.table(
    "link_events", sa.column("id", sa.Integer), sa.column("capture_id"), sa.column("at", _TIME)
)


def _utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives them back without a zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def record_time(warc_date: str | None, hops: Any) -> datetime | None:
    """The WARC-Date of the capture's response record, else of its last hop's; None when
    the capture left no record."""
    if not warc_date and isinstance(hops, list):
        dates = [h.get("warc_date") for h in hops if isinstance(h, dict)]
        warc_date = next((d for d in reversed(dates) if isinstance(d, str) and d), None)
    if not warc_date:
        return None
    try:
        return iso_date_to_datetime(warc_date, tz_aware=True)
    except ValueError:
        return None


@dataclass
class _Moves:
    """One batch's corrections: capture id → (old, new), and per resource old → new."""

    captures: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    by_resource: dict[str, dict[datetime, datetime]] = field(default_factory=dict)


def _capture_moves(conn: sa.Connection, resource_ids: Sequence[str]) -> _Moves:
    moves = _Moves()
    rows = conn.execute(
        sa.select(
            _captures.c.capture_id,
            _captures.c.resource_id,
            _captures.c.fetched_at,
            _captures.c.warc_date,
            _captures.c.redirect_chain,
        ).where(_captures.c.resource_id.in_(resource_ids))
    )
    for capture_id, resource_id, fetched_at, warc_date, hops in rows:
        old, new = _utc(fetched_at), record_time(warc_date, hops)
        if old is None or new is None or new == old:
            continue
        moves.captures[capture_id] = (old, new)
        olds = moves.by_resource.setdefault(resource_id, {})
        # Two captures of one crawl shared one old time: the later one was the last check.
        olds[old] = max(new, olds.get(old, new))
    return moves


def _resource_updates(conn: sa.Connection, moves: _Moves) -> list[dict[str, Any]]:
    updates = []
    rows = conn.execute(
        sa.select(_resources).where(_resources.c.resource_id.in_(list(moves.by_resource)))
    )
    for row in rows:
        olds = moves.by_resource[row.resource_id]
        values = {name: _utc(getattr(row, name)) for name in _RESOURCE_TIMES}
        changed = {k: olds[v] for k, v in values.items() if v in olds and k != "next_due_at"}
        checked, due = values["last_checked_at"], values["next_due_at"]
        if "last_checked_at" in changed and checked is not None and due is not None:
            changed["next_due_at"] = due + (changed["last_checked_at"] - checked)
        if changed:
            values.update(changed)
            updates.append({"rid": row.resource_id, **{f"v_{k}": v for k, v in values.items()}})
    return updates


def _event_updates(conn: sa.Connection, moves: _Moves) -> list[dict[str, Any]]:
    updates = []
    for capture_ids in _slices(list(moves.captures)):
        rows = conn.execute(
            sa.select(_events.c.id, _events.c.capture_id, _events.c.at).where(
                _events.c.capture_id.in_(capture_ids)
            )
        )
        for event_id, capture_id, at in rows:
            old, new = moves.captures[capture_id]
            if _utc(at) == old:
                updates.append({"eid": event_id, "new": new})
    return updates


def _slices(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def _correct(conn: sa.Connection, resource_ids: Sequence[str]) -> None:
    moves = _capture_moves(conn, resource_ids)
    if not moves.captures:
        return
    resources = _resource_updates(conn, moves)
    events = _event_updates(conn, moves)
    conn.execute(
        _captures.update()
        .where(_captures.c.capture_id == sa.bindparam("cid"))
        .values(fetched_at=sa.bindparam("new")),
        [{"cid": cid, "new": new} for cid, (_old, new) in moves.captures.items()],
    )
    if resources:
        conn.execute(
            _resources.update()
            .where(_resources.c.resource_id == sa.bindparam("rid"))
            .values({name: sa.bindparam(f"v_{name}") for name in _RESOURCE_TIMES}),
            resources,
        )
    if events:
        conn.execute(
            _events.update()
            .where(_events.c.id == sa.bindparam("eid"))
            .values(at=sa.bindparam("new")),
            events,
        )


def upgrade() -> None:
    conn = op.get_bind()
    after = ""
    while True:
        batch = list(
            conn.scalars(
                sa.select(_resources.c.resource_id)
                .where(_resources.c.resource_id > after)
                .order_by(_resources.c.resource_id)
                .limit(BATCH)
            )
        )
        if not batch:
            return
        _correct(conn, batch)
        after = batch[-1]


def downgrade() -> None:
    # The corrected times are true for the older code too; the wrong ones are not kept.
    pass
