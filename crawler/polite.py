"""Politeness across the workers of a shared crawl (``archive/frontier/hosts.py``).

Two downloader middlewares, in frontier mode only: one takes a slot of the request's
host in Redis before the request is sent and gives it back (for the delay) when the
answer comes; the other reads each host's robots.txt as the first worker to need it
fetched it, so a crawl fetches it once per host, whatever the number of workers.
"""

from __future__ import annotations

import time
from typing import Any
from weakref import WeakKeyDictionary

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import DeferredLock

from archive.frontier.hosts import host_key
from crawler.frontier import FrontierWorker, frontier_worker
from crawler.middlewares import RobotsTxtMiddleware, _sleep

#: how long a worker waits for another to fetch a host's robots.txt before fetching it
ROBOTS_WAIT = 30.0


class HostSlotMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.held: WeakKeyDictionary[Request, tuple[str, str]] = WeakKeyDictionary()
        #: one request per host asks Redis at a time; this worker's others queue behind it
        self.asking: dict[str, DeferredLock] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostSlotMiddleware:
        if not crawler.settings.get("ARCHIVE_FRONTIER_URL"):
            raise NotConfigured("not a frontier worker")
        return cls(crawler)

    @property
    def worker(self) -> FrontierWorker:
        return frontier_worker(self.crawler)

    async def process_request(self, request: Request) -> None:
        worker = self.worker
        host, token = host_key(request.url), worker.hosts.token()
        lock = self.asking.setdefault(host, DeferredLock())
        await maybe_deferred_to_future(lock.acquire())
        try:
            while wait := worker.hosts.acquire(host, token):
                await _sleep(wait)
        finally:
            lock.release()
        self.held[request] = (host, token)
        worker.slots.add((host, token))

    def _release(self, request: Request) -> None:
        held = self.held.pop(request, None)
        if held is not None:
            self.worker.slots.discard(held)
            self.worker.hosts.release(*held)

    async def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    async def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """robots.txt once per host per crawl: the worker that claims a host fetches it and
    shares its answer; the others wait for that answer and parse it themselves."""

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        shared = frontier_worker(self.crawler).robots
        deadline = time.monotonic() + ROBOTS_WAIT
        while netloc not in self._parsers and time.monotonic() < deadline:
            found = shared.get(netloc)
            if found is not None:
                self._parsers[netloc] = build_from_crawler(self._parserimpl, self.crawler, found[1])
                self._stats.inc_value("robotstxt/shared_count")
                break
            if shared.claim(netloc):
                break  # this worker fetches it (Scrapy's own path, below)
            await _sleep(0.05)
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        frontier_worker(self.crawler).robots.put(netloc, response.status, response.body)
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        frontier_worker(self.crawler).robots.give_up(netloc)
        super()._robots_error(exc, netloc)
