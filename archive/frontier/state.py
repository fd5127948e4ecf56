"""The shared frontier of a crawl on Redis: its keys, and each step workers take on it.

One crawl at a time per frontier prefix. The first worker to start (or ``archive
enqueue``) begins it and pushes the due resources; every worker pops and leases them
(scrapy-redis's ``RedisSpider`` feeding, ``crawler/frontier.py``), renews its leases
while it works, and finishes each resource once its capture is recorded. When nothing is
queued or leased any more the crawl is over; the next worker to start begins another.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from archive.config import Config, SettingError
from archive.frontier import scripts
from archive.frontier.hosts import host_key

#: what names the frontier in messages: the setting and the flag
NAMED = "ARCHIVE_FRONTIER_URL / --frontier"


class FrontierError(SettingError):
    """The frontier cannot be used (a bad or unreachable Redis, a SQLite store)."""


def redacted(url: str) -> str:
    """``url`` without its password, for messages and job rows."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def require_postgresql(config: Config) -> None:
    """Frontier mode records into one store shared by every machine: not a SQLite file."""
    if not config.on_postgresql:
        raise FrontierError(
            "frontier mode needs a PostgreSQL store shared by every worker: set "
            "ARCHIVE_DATABASE_URL=postgresql+psycopg://… (a SQLite store is one machine's file)"
        )


def connect(url: str) -> Any:
    """A Redis client for ``url``, checked with a PING: one line naming the setting else."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
        client.ping()
    except (ValueError, redis.RedisError) as exc:
        detail = " ".join(str(exc).split())
        raise FrontierError(
            f"cannot use the frontier at {redacted(url)} ({NAMED}): {detail}"
        ) from None
    return client


def interleaved(refs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``refs`` with their hosts taking turns: each host's first, then each one's second..."""
    from itertools import chain, zip_longest

    by_host: dict[str, list[tuple[str, str]]] = {}
    for ref in refs:
        by_host.setdefault(host_key(ref[1]), []).append(ref)
    turns = zip_longest(*by_host.values())
    return [ref for ref in chain.from_iterable(turns) if ref is not None]


@dataclass
class WorkerStatus:
    name: str
    host: str
    pid: int
    job: int | None
    started: float
    last_seen: float
    done: int

    @property
    def rate(self) -> float:
        """Captures a second over the worker's time in this crawl."""
        return self.done / max(self.last_seen - self.started, 1e-3)


@dataclass
class Status:
    crawl: int
    phase: str
    queued: int
    leased: int
    done: int
    failed: int
    enqueued: int
    workers: list[WorkerStatus] = field(default_factory=list)


class Frontier:
    """One crawl's state on Redis, as a worker (or ``enqueue``) sees it."""

    def __init__(self, client: Any, prefix: str, worker: str, lease: float) -> None:
        self.redis = client
        self.worker = worker
        self.lease_ms = int(lease * 1000)
        self.base = f"{prefix}:frontier"
        self._scripts = {
            name: client.register_script(getattr(scripts, name))
            for name in ("BEGIN", "PUSH", "POP", "RENEW", "REQUEUE", "CLAIM", "FINISH", "DRAINED")
        }
        self.crawl = 0

    @classmethod
    def open(cls, config: Config) -> Frontier:
        client = connect(config.frontier_url)
        return cls(client, config.frontier_prefix, config.worker, config.frontier_lease)

    def key(self, name: str) -> str:
        return f"{self.base}:{name}"

    @property
    def queue_key(self) -> str:
        """The list scrapy-redis's feeding pops (``REDIS_START_URLS_KEY``)."""
        return self.key("queue")

    def _run(self, name: str, keys: list[str], args: Iterable[Any] = ()) -> Any:
        return self._scripts[name](keys=keys, args=list(args))

    # -- a crawl's life ------------------------------------------------------------------

    def begin(self) -> bool:
        """Join the crawl under way, or begin one; True when this worker must seed it."""
        per_crawl = ["queue", "seen", "entries", "done", "failed", "leases", "owners"]
        keys = [self.key("state"), *(self.key(k) for k in per_crawl)]
        keys += [self.key("workers"), self.key("counts")]
        crawl, seed = self._run("BEGIN", keys, [self.worker, self.lease_ms])
        self.crawl = int(crawl)
        return bool(seed)

    def push(self, refs: Iterable[tuple[str, str]], browser: set[str] | None = None) -> int:
        """Queue (resource_id, url) pairs not yet in this crawl; how many were new. Hosts
        take turns in the queue: a batch popped by a worker spans many hosts, rather than
        every worker waiting on the first host's delay while the others sit idle."""
        keys = [self.key("seen"), self.key("entries"), self.queue_key]
        queued, batch = 0, []
        for rid, url in interleaved(refs):
            entry: dict[str, Any] = {"resource_id": rid, "url": url}
            if browser and rid in browser:
                entry["browser"] = True
            batch += [rid, json.dumps(entry)]
            if len(batch) >= 1000:
                queued += int(self._run("PUSH", keys, batch))
                batch = []
        if batch:
            queued += int(self._run("PUSH", keys, batch))
        return queued

    def seeded(self) -> None:
        """Everything due is queued: once drained, the crawl is over."""
        self.redis.hset(self.key("state"), "phase", "running")

    def pop(self, count: int) -> list[dict[str, Any]]:
        """Up to ``count`` resources, each leased to this worker."""
        keys = [self.queue_key, self.key("leases"), self.key("owners"), self.key("done")]
        found = self._run("POP", keys, [count, self.worker, self.lease_ms])
        return [json.loads(entry) for entry in found]

    def renew(self, resource_ids: Iterable[str]) -> int:
        ids = list(resource_ids)
        if not ids:
            return 0
        keys = [self.key("leases"), self.key("owners")]
        return int(self._run("RENEW", keys, [self.worker, self.lease_ms, *ids]))

    def requeue_expired(self) -> int:
        """Put back what dead (or stalled) workers had leased; how many."""
        keys = [self.key(k) for k in ("leases", "owners", "entries", "queue", "done")]
        return int(self._run("REQUEUE", keys))

    def claim(self, resource_id: str) -> bool:
        """Whether this worker records ``resource_id`` (no other did, nor holds it)."""
        keys = [self.key("leases"), self.key("owners"), self.key("done")]
        return bool(self._run("CLAIM", keys, [resource_id, self.worker, self.lease_ms]))

    def finish(self, resource_id: str, failed: bool) -> None:
        keys = [self.key(k) for k in ("leases", "owners", "done", "failed", "counts")]
        self._run("FINISH", keys, [resource_id, self.worker, int(failed)])

    def drained(self) -> bool:
        keys = [self.key("state"), self.queue_key, self.key("leases")]
        return bool(self._run("DRAINED", keys))

    def heartbeat(self, job_id: int | None, started: float) -> None:
        """Say this worker is alive (``archive frontier status`` reads it)."""
        seen = {"host": socket.gethostname(), "pid": os.getpid(), "job": job_id}
        seen |= {"started": started, "last_seen": time.time()}
        self.redis.hset(self.key("workers"), self.worker, json.dumps(seen))

    def enqueued(self) -> int:
        return int(self.redis.scard(self.key("seen")))

    # -- what it looks like ----------------------------------------------------------------

    def status(self) -> Status:
        pipe = self.redis.pipeline()
        pipe.hgetall(self.key("state"))
        pipe.llen(self.queue_key)
        pipe.zcard(self.key("leases"))
        pipe.scard(self.key("done"))
        pipe.scard(self.key("failed"))
        pipe.scard(self.key("seen"))
        pipe.hgetall(self.key("workers"))
        pipe.hgetall(self.key("counts"))
        state, queued, leased, done, failed, seen, workers, counts = pipe.execute()
        state = {k.decode(): v.decode() for k, v in state.items()}
        status = Status(
            int(state.get("crawl", 0)),
            state.get("phase", "none"),
            queued,
            leased,
            done,
            failed,
            seen,
        )
        for name, raw in sorted(workers.items()):
            info = json.loads(raw)
            status.workers.append(
                WorkerStatus(
                    name.decode(),
                    info["host"],
                    info["pid"],
                    info.get("job"),
                    info["started"],
                    info["last_seen"],
                    int(counts.get(name, 0)),
                )
            )
        return status
