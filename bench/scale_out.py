"""Scale out: 1 worker against 3 workers on one Redis frontier and one PostgreSQL store.

    nice -n 19 .venv/bin/python bench/scale_out.py [--pages 600] [--hosts 60] [--latency 0.1]
        [--concurrency 1] [--redis redis://127.0.0.1:6379/0]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

A local server answers every request after ``--latency`` seconds (a far-away host), on
``--hosts`` loopback addresses (127.0.0.1, 127.0.0.2, ...: a host each). The same pages are
crawled by one worker, then by three (separate processes, separate ARCHIVE_HOMEs, one fresh
schema and Redis prefix per run), each worker sending at most ``--concurrency`` requests at
once: latency-bound, as a worker far from its hosts is. Prints each run's pages/s (over the
crawl, from the first request sent to the last; and over the whole run, start-up included)
and the ratio, which approaches 3 while the workers are latency-bound, not CPU-bound.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = str(Path(sys.executable).parent / "archive")
sys.path.insert(0, str(ROOT / "tests"))
from sites import NOT_FOUND, Fixed, LocalSite, Slow  # noqa: E402
from stores import _pg_schema_url  # noqa: E402


def start_hosts(count: int, pages: int, latency: float) -> tuple[list[LocalSite], list[str]]:
    """``count`` local sites (127.0.0.1, 127.0.0.2, ...: a host each) holding ``pages``
    pages between them, every answer ``latency`` seconds late; the sites and the URLs."""
    sites = [LocalSite(host=f"127.0.0.{n}").start() for n in range(1, count + 1)]
    for site in sites:
        site.set("/robots.txt", Slow(NOT_FOUND, latency))
    urls = []
    for i in range(pages):
        site, path = sites[i % count], f"/page/{i}"
        body = f"<html><title>{path}</title><p>Cited page {path}.</p></html>".encode()
        site.set(path, Slow(Fixed(body), latency))
        urls.append(site.url(path))
    return sites, urls


def env_for(home: Path, db: str, args: argparse.Namespace, prefix: str, name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        ARCHIVE_HOME=str(home),
        ARCHIVE_DATABASE_URL=db,
        ARCHIVE_ALLOW_PRIVATE="1",
        ARCHIVE_DOWNLOAD_DELAY="0",
        ARCHIVE_CONCURRENCY_PER_HOST="1",
        ARCHIVE_FRONTIER_URL=args.redis,
        ARCHIVE_FRONTIER_PREFIX=prefix,
        ARCHIVE_WORKER_NAME=name,
        ARCHIVE_EXTRACT_WORKERS="1",
    )
    return env


def run(workers: int, urls: list[str], args: argparse.Namespace, tmp: Path) -> dict:
    import redis

    schema = _pg_schema_url(args.pg)
    db = next(schema)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    base = tmp / f"{workers}-workers"
    listing = base / "list.txt"
    base.mkdir()
    listing.write_text("\n".join(urls) + "\n")
    setup = env_for(base / "setup", db, args, prefix, "setup")
    try:
        for command in (["import", str(listing)], ["enqueue", "--due"]):
            subprocess.run([ARCHIVE, *command], env=setup, check=True, capture_output=True)
        started = time.monotonic()
        procs = [
            subprocess.Popen(
                [ARCHIVE, "crawl", "-s", f"CONCURRENT_REQUESTS={args.concurrency}"],
                env=env_for(base / f"w{n}", db, args, prefix, f"w{n}"),
                stdout=subprocess.DEVNULL,
                stderr=open(base / f"w{n}.log", "w"),  # noqa: SIM115 - the child's
            )
            for n in range(1, workers + 1)
        ]
        codes = [p.wait() for p in procs]
        wall = time.monotonic() - started
        engine = sa.create_engine(db)
        with engine.connect() as conn:
            first, last, count = conn.execute(
                sa.text("SELECT min(fetched_at), max(fetched_at), count(*) FROM captures")
            ).one()
        engine.dispose()
    finally:
        schema.close()
        client = redis.Redis.from_url(args.redis)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    crawl = (last - first).total_seconds() + args.latency
    return {"codes": codes, "captures": count, "wall": wall, "crawl": crawl}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--hosts", type=int, default=60)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    sites, urls = start_hosts(args.hosts, args.pages, args.latency)
    print(
        f"{args.pages} pages on {args.hosts} hosts answering after {args.latency * 1000:.0f} ms; "
        f"each worker {args.concurrency} requests at once, 1 a host, previews on; {os.cpu_count()}"
        " cores"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 3):
            result = results[workers] = run(workers, urls, args, Path(tmp))
            print(
                f"{workers} worker(s): {result['captures']} captures, exit {result['codes']}; "
                f"{args.pages / result['crawl']:.1f} pages/s over the crawl "
                f"({result['crawl']:.1f} s), {args.pages / result['wall']:.1f} pages/s "
                f"start to end ({result['wall']:.1f} s)"
            )
    for site in sites:
        site.stop()
    crawl = results[1]["crawl"] / results[3]["crawl"]
    wall = results[1]["wall"] / results[3]["wall"]
    print(f"3 workers / 1 worker: {crawl:.2f}x over the crawl, {wall:.2f}x start to end")


if __name__ == "__main__":
    main()
