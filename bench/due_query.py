"""Time the due query on a million resources (target: < 0.5 s for the 10,000 most overdue).

    .venv/bin/python bench/due_query.py [--resources 1000000] [--limit 10000] [--runs 7]
                                        [--home DIR]   # keep the filled store, reuse it next time

Fills a fresh SQLite store (migrated schema, under a temp dir) with resources whose
``next_due_at`` is spread the way a running archive spreads them, then runs
``archive.rot.due.due_refs`` (what a crawl runs to pick its resources) through a session.
The peer is the very same statement told to ignore every index (``NOT INDEXED``):
a full scan plus a top-N sort, which is what the query costs without its index.
To show where the time goes, the same statement is also timed bare (SQLite and the
driver only), as typed Core rows, and projected to the two columns the spider reads.

Measured on this machine: the index range scan and fetch take about 0.11 s at 100,000
and at 1,000,000 rows alike; the rest is Python building 10,000 full Resource objects
(6 datetime and 3 JSON columns each), about 0.45 s. The index cannot help with that;
selecting only ``resource_id, url`` (all the spider needs) does, hence ``due_refs``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, column, event, func, insert, select, table

from archive.config import load_config
from archive.rot.due import due_query, due_refs
from archive.store.db import Store
from archive.store.models import Resource

NOW = datetime(2026, 4, 9, 12, 0, tzinfo=UTC)
IMPORTED = NOW - timedelta(days=2)
TARGET = 0.5
BATCH = 50_000


def due_time(rnd: random.Random) -> datetime:
    """Where a running archive's resources sit relative to now."""
    roll = rnd.random()
    if roll < 0.03:  # a fresh import nobody has crawled yet: all due at the same instant
        return IMPORTED
    if roll < 0.25:  # the backlog: overdue by up to two weeks
        return NOW - timedelta(seconds=rnd.uniform(0, 14 * 86400))
    if roll < 0.33:  # failing links on backoff: due within days
        return NOW + timedelta(seconds=rnd.uniform(0, 16 * 86400))
    return NOW + timedelta(seconds=rnd.uniform(0, 30 * 86400))  # alive: the refresh interval


def stored(engine: Engine, name: str) -> Callable[[Any], Any]:
    """The column's own bind processing (UTCDateTime, JSON), to render values once.

    Through the typed table a million rows spend most of their time in per-value type
    processing; rendering with the very same processors keeps the stored form exact.
    """
    kind = Resource.__table__.c[name].type.dialect_impl(engine.dialect)
    return kind.bind_processor(engine.dialect) or (lambda value: value)


def rows(engine: Engine, count: int, rnd: random.Random) -> Iterator[list[dict[str, Any]]]:
    when, as_json = stored(engine, "next_due_at"), stored(engine, "tags")
    imported, tags, meta = when(IMPORTED), as_json(["bench"]), as_json({})
    pages = [as_json([f"page-{n}"]) for n in range(900)]
    hosts = [f"site{n}.example.org" for n in range(5000)]
    types = ["web", "web", "web", "paper", "blog", "government"]
    states = ["alive"] * 90 + ["unknown"] * 4 + ["dead", "gone", "redirected", "paywalled"]
    batch: list[dict[str, Any]] = []
    for n in range(count):
        host = rnd.choice(hosts)
        url = f"https://{host}/articles/{n}/a-title-of-some-length"
        batch.append(
            {
                "resource_id": f"{n:016x}",
                "number": n,
                "stable_id": f"sid_bench{n:010d}",
                "stable_id_source": "generated",
                "url": url,
                "url_key": url.removeprefix("https://"),
                "host": host,
                "title": f"Article number {n}",
                "type": rnd.choice(types),
                "tags": tags,
                "cited_by": rnd.choice(pages),
                "meta": meta,
                "link_state": rnd.choice(states),
                "consecutive_failures": 0,
                "first_seen_at": imported,
                "last_seen_at": imported,
                "next_due_at": when(due_time(rnd)),
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(store: Store, count: int) -> None:
    """Core bulk inserts; the plain indexes are built after the load, as bulk loads do."""
    started = time.perf_counter()
    plain = table("resources", *(column(c.name) for c in Resource.__table__.c))
    with store.engine.begin() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'resources' AND sql IS NOT NULL ORDER BY name"
        ).all()
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        for batch in rows(store.engine, count, random.Random(20260409)):
            conn.execute(insert(plain), batch)
        for _, sql in indexes:
            conn.exec_driver_sql(sql)
        conn.exec_driver_sql("ANALYZE")
    print(f"filled {count:,} resources in {time.perf_counter() - started:.1f} s")
    with store.session() as session:  # read back through the models: the stored form is right
        first = session.get(Resource, f"{0:016x}")
        assert first is not None and first.first_seen_at == IMPORTED and first.tags == ["bench"]


@contextmanager
def rewritten(engine: Engine, rewrite: Callable[[str], str]) -> Iterator[list[tuple[str, Any]]]:
    """Run statements with ``rewrite`` applied to their SQL; yields the statements seen."""
    seen: list[tuple[str, Any]] = []

    def hook(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> Any:
        sql = rewrite(sql)
        seen.append((sql, params))
        return sql, params

    event.listen(engine, "before_cursor_execute", hook, retval=True)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", hook)


def not_indexed(sql: str) -> str:
    return sql.replace("FROM resources", "FROM resources NOT INDEXED", 1)


def timed(runs: int, once: Callable[[], int], limit: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        got = once()
        times.append(time.perf_counter() - started)
        assert got == limit, got
    return times


def orm_rows(store: Store, limit: int) -> int:
    with store.session() as session:  # a fresh session: no identity map to reuse
        return len(session.scalars(due_query(NOW, limit=limit)).all())


def id_url_rows(store: Store, limit: int) -> int:
    # What the spider runs: archive.rot.due.due_refs, (resource_id, url) of each due resource.
    with store.session() as session:
        return len(due_refs(session, NOW, limit=limit))


def core_rows(store: Store, limit: int) -> int:
    with store.engine.connect() as conn:
        return len(conn.execute(due_query(NOW, limit=limit)).all())


def bare_rows(store: Store, sql: str, params: Any) -> int:
    with store.engine.connect() as conn:
        return len(conn.exec_driver_sql(sql, params).all())


def plan(store: Store, sql: str, params: Any) -> list[str]:
    with store.engine.connect() as conn:
        return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]


def line(label: str, times: list[float], note: str = "") -> float:
    median = statistics.median(times)
    print(f"  {label:<30} best {min(times):.3f} s  median {median:.3f} s  {note}".rstrip())
    return median


def bench(store: Store, args: argparse.Namespace) -> None:
    with store.session() as session:
        if not session.scalar(select(func.count()).select_from(Resource)):
            fill(store, args.resources)
        total = session.scalar(select(func.count()).select_from(Resource)) or 0
        due = session.scalar(
            select(func.count()).select_from(Resource).where(Resource.next_due_at <= NOW)
        )
    print(f"due now: {due or 0:,} of {total:,}; taking the {args.limit:,} most overdue")

    with rewritten(store.engine, lambda sql: sql) as seen:
        orm_rows(store, args.limit)  # warms the page cache, and shows the SQL
    sql, params = seen[-1]
    print("\nSQL:", " ".join(sql.split()))
    print("EXPLAIN QUERY PLAN:", "; ".join(plan(store, sql, params)))
    print("peer EXPLAIN QUERY PLAN:", "; ".join(plan(store, not_indexed(sql), params)))

    runs, limit = args.runs, args.limit
    print(f"\ndue_query(now, limit={limit}), {runs} runs each:")
    crawl = line(
        "due_refs (what crawl runs)", timed(runs, lambda: id_url_rows(store, limit), limit)
    )
    line("ORM objects, all columns", timed(runs, lambda: orm_rows(store, limit), limit))
    line("typed Core rows, all columns", timed(runs, lambda: core_rows(store, limit), limit))
    line("bare SQL + driver fetch", timed(runs, lambda: bare_rows(store, sql, params), limit))
    with rewritten(store.engine, not_indexed):
        id_url_rows(store, limit)
        peer = line(
            "peer: NOT INDEXED, due_refs",
            timed(runs, lambda: id_url_rows(store, limit), limit),
            "(full scan + top-N sort)",
        )
    verdict = "ok" if crawl < TARGET else "OVER"
    print(f"\ndue_refs median {crawl:.3f} s vs target < {TARGET} s: {verdict}")
    print(f"ratio peer / indexed (medians): {peer / crawl:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--limit", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--home", type=Path, help="keep the store here (reused if filled)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(load_config(home=args.home or Path(tmp) / "home", database_url=""))
        try:
            bench(store, args)
        finally:
            store.close()


if __name__ == "__main__":
    main()
