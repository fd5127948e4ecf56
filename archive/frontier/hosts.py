"""Politeness across workers: each host's slots, and its robots.txt, shared on Redis.

Scrapy (and scrapy-redis) delay and limit requests per process only: three workers
would each keep their own distance from a host, and together come three times as close.
Here a host (``host:port``, the default port made explicit) has as many slots as its
concurrency, a sorted set of tokens scored by when each frees. A request takes a slot
before it is sent and holds it while in flight (renewed, so a dead worker's slot frees
a lease later); its answer holds the slot for the delay more. So no two requests to a
host start closer than the delay when its concurrency is 1, whichever workers send them.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from archive.frontier import scripts

_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_key(url: str) -> str:
    """What politeness counts as one host: ``host:port``, lower-cased."""
    parts = urlsplit(url)
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
    return f"{(parts.hostname or '').lower()}:{port}"


#: how often a waiting worker asks again while a host's slot is in flight (its answer's
#: time unknown): the slack a request may lose after its host's delay
POLL = 0.025


class HostSlots:
    def __init__(self, client: Any, base: str, concurrency: int, delay: float, hold: float):
        self.redis = client
        self.base = base
        self.concurrency = concurrency
        self.delay_ms = int(delay * 1000)
        self.hold_ms = int(hold * 1000)
        self._acquire = client.register_script(scripts.HOST_ACQUIRE)
        self._hold = client.register_script(scripts.HOST_HOLD)

    def key(self, host: str) -> str:
        return f"{self.base}:host:{host}"

    def token(self) -> str:
        return uuid.uuid4().hex

    def acquire(self, host: str, token: str) -> float:
        """0 when ``token`` now holds one of the host's slots, else seconds to wait."""
        args = [token, self.concurrency, self.hold_ms, int(POLL * 1000)]
        wait = self._acquire(keys=[self.key(host)], args=args)
        return int(wait) / 1000

    def renew(self, host: str, token: str) -> None:
        self._hold(keys=[self.key(host)], args=[token, self.hold_ms])

    def release(self, host: str, token: str) -> None:
        """The answer came: the slot frees once the delay has passed (a millisecond more:
        the scripts read Redis's clock to the millisecond, rounded down)."""
        self._hold(keys=[self.key(host)], args=[token, self.delay_ms + 1])


class SharedRobots:
    """Each host's robots.txt fetched once per crawl, by whichever worker claims it first."""

    def __init__(self, client: Any, base: str, crawl: int, hold: float) -> None:
        self.redis = client
        self.prefix = f"{base}:robots:{crawl}"
        self.hold = max(int(hold), 1)

    def get(self, netloc: str) -> tuple[int, bytes] | None:
        raw = self.redis.get(f"{self.prefix}:{netloc}")
        if raw is None:
            return None
        found = json.loads(raw)
        return int(found["status"]), base64.b64decode(found["body"])

    def claim(self, netloc: str) -> bool:
        """True when this worker is to fetch it (others wait for what it stores)."""
        return bool(self.redis.set(f"{self.prefix}:{netloc}:claim", 1, nx=True, ex=self.hold))

    def put(self, netloc: str, status: int, body: bytes) -> None:
        value = json.dumps({"status": status, "body": base64.b64encode(body).decode()})
        self.redis.set(f"{self.prefix}:{netloc}", value, ex=7 * 24 * 3600)

    def give_up(self, netloc: str) -> None:
        """The fetch failed: let the next worker that needs it try."""
        self.redis.delete(f"{self.prefix}:{netloc}:claim")
