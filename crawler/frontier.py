"""One worker of a crawl shared on Redis (``archive crawl --frontier``).

scrapy-redis does the feeding: the spider is a ``RedisMixin`` spider, handed resources
from the frontier's list when it is idle (its ``spider_idle`` handler), as its
``RedisSpider`` is. What scrapy-redis lacks is written here and in
``archive/frontier``: a popped resource is leased to this worker (renewed while it
works, requeued by any worker once it expires, so a worker that dies loses nothing),
recorded only by the worker that holds it (once per crawl), and finished when its row is
committed. The crawl ends for a worker when nothing is queued or leased any more.

The requests themselves stay in this process's own scheduler rather than scrapy-redis's
shared request queue: what follows a resource's request (its redirect hops and retries,
its page waiting for its requisites, a browser page) is state of this process, which
another worker popping the next hop could not continue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, DropItem, NotConfigured
from scrapy_redis.spiders import RedisMixin
from sqlalchemy import select

from archive.config import Config, load_config
from archive.frontier.hosts import HostSlots, SharedRobots
from archive.frontier.state import Frontier, WorkerStatus
from archive.rot.selection import select_resources
from archive.store.db import Store
from archive.store.models import Capture, Job
from crawler.browser import browser_request, wants_browser
from crawler.items import FetchItem
from crawler.middlewares import HOPS
from crawler.pipelines import capture_recorded
from crawler.session import archive_session
from crawler.spiders.resources import ResourcesSpider

logger = logging.getLogger(__name__)


class FrontierWorker:
    """Extension: this worker's leases, its heartbeat, and its part in the job rows."""

    def __init__(self, crawler: Crawler, config: Config) -> None:
        self.crawler = crawler
        self.config = config
        self.frontier = Frontier.open(config)
        self.seeds = self.frontier.begin()
        base, lease = self.frontier.base, config.frontier_lease
        self.hosts = HostSlots(
            self.frontier.redis, base, config.concurrency_per_host, config.download_delay, lease
        )
        self.robots = SharedRobots(self.frontier.redis, base, self.frontier.crawl, lease)
        #: resources popped by this worker and not finished yet
        self.leased: set[str] = set()
        #: resources this worker recorded in this crawl (a browser fallback is its second)
        self.finished: set[str] = set()
        #: (host, token) of the host slots this worker's requests hold right now
        self.slots: set[tuple[str, str]] = set()
        self.started = time.time()
        self._beat: Any = None
        self.store = Store(config, migrate=False)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierWorker:
        if not crawler.settings.get("ARCHIVE_FRONTIER_URL"):
            raise NotConfigured("not a frontier worker")
        # its own reading of the settings: extensions cannot reach each other while loading
        worker = cls(crawler, load_config(crawler.settings))
        crawler.signals.connect(worker.opened, signal=signals.spider_opened)
        crawler.signals.connect(worker.closed, signal=signals.spider_closed)
        crawler.signals.connect(worker.recorded, signal=capture_recorded)
        crawler.signals.connect(worker.top_up, signal=signals.request_left_downloader)
        return worker

    def opened(self, spider: Any) -> None:
        from twisted.internet.task import LoopingCall

        self._tag_job({"crawl": self.frontier.crawl, "prefix": self.config.frontier_prefix})
        self.beat()
        self._beat = LoopingCall(self.beat)
        self._beat.start(max(self.config.frontier_lease / 4, 0.25), now=False)

    def beat(self) -> None:
        """Renew what this worker holds, requeue what dead ones held, keep its queue fed."""
        try:
            session = archive_session(self.crawler)
            self.frontier.heartbeat(session.job_id, self.started)
            self.frontier.renew(self.leased)
            for host, token in list(self.slots):
                self.hosts.renew(host, token)
            self.frontier.requeue_expired()
            session.expected = self.frontier.enqueued()
            self.top_up()
        except Exception as exc:  # noqa: BLE001 - a Redis hiccup: the next beat tries again
            logger.warning("frontier heartbeat failed: %s", exc)

    def top_up(self, *_: Any, **__: Any) -> None:
        """Feed this worker before it runs dry: scrapy-redis feeds only an idle spider,
        whose downloader then waits for the last pages of a batch to be recorded."""
        spider = self.crawler.spider
        if not isinstance(spider, FrontierSpider) or spider.server is None:
            return
        if len(self.leased) < spider.redis_batch_size:
            spider.schedule_next_requests()

    def recorded(self, item: FetchItem, outcome: Any) -> None:
        rid = item.resource_id
        if rid in self.finished:
            return
        failed = bool(outcome.error_class) or (outcome.http_status or 0) >= 400
        self.frontier.finish(rid, failed)
        self.finished.add(rid)
        self.leased.discard(rid)

    def closed(self, spider: Any, reason: str) -> None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        self.frontier.heartbeat(archive_session(self.crawler).job_id, self.started)
        try:
            workers = self.frontier.status().workers
            self._tag_job({"workers": sorted(w.name for w in workers)})
            self._mark_dead(workers)
        finally:
            self.store.close()

    def _mark_dead(self, workers: list[WorkerStatus]) -> None:
        """The jobs of this crawl's workers that stopped beating: killed, not running.
        (A worker takes only its own lock, so it cannot judge the others' jobs at start.)"""
        silent = time.time() - 2 * self.config.frontier_lease
        dead = {w.job for w in workers if w.last_seen < silent and w.job is not None}
        with self.store.session() as s:
            for job in s.scalars(select(Job).where(Job.id.in_(dead), Job.status == "running")):
                job.status, job.finished_at = "interrupted", job.finished_at or datetime.now(UTC)
                job.message = "the worker stopped renewing its leases (killed?)"

    def _tag_job(self, shared: dict[str, Any]) -> None:
        """Say in this worker's job row which shared crawl it took part in, and with whom."""
        with self.store.session() as s:
            job = s.get(Job, archive_session(self.crawler).job_id)
            if job is not None:
                settings = dict(job.settings or {})
                settings["frontier"] = dict(settings.get("frontier") or {}) | shared
                job.settings = settings

    def recorded_in_crawl(self, resource_id: str) -> bool:
        """Whether a worker of this crawl recorded the resource already: one that died
        between committing its row and saying so in Redis."""
        shared = Job.settings["frontier"]
        jobs = select(Job.id).where(
            shared["crawl"].as_integer() == self.frontier.crawl,
            shared["prefix"].as_string() == self.config.frontier_prefix,
        )
        found = select(Capture.capture_id).where(
            Capture.resource_id == resource_id, Capture.job_id.in_(jobs)
        )
        with self.store.session() as s:
            return s.execute(found.limit(1)).first() is not None


def frontier_worker(crawler: Crawler) -> FrontierWorker:
    worker = crawler.get_extension(FrontierWorker)
    if worker is None:
        raise RuntimeError("the FrontierWorker extension is not enabled (ARCHIVE_FRONTIER_URL)")
    return worker


class ClaimPipeline:
    """Before the record pipeline: a capture is recorded by the worker holding its
    resource's lease, once per crawl; a copy another worker got too (its lease had
    expired while it was stalled) is dropped."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClaimPipeline:
        if not crawler.settings.get("ARCHIVE_FRONTIER_URL"):
            raise NotConfigured("not a frontier worker")
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchItem):
            return item
        worker = frontier_worker(self.crawler)
        if item.resource_id in worker.finished or worker.frontier.claim(item.resource_id):
            return item
        worker.leased.discard(item.resource_id)
        raise DropItem(f"{item.requested_url} is recorded by another worker", log_level="INFO")


class FrontierSpider(RedisMixin, ResourcesSpider):
    """The ``resources`` spider fed from the shared frontier (scrapy-redis's feeding)."""

    name = "resources-frontier"
    #: only the worker that begins the crawl selects, when it starts (``start``)
    selects_early = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FrontierSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # leased ahead: the downloader has the next pages while the last ones are recorded
        spider.redis_batch_size = 2 * crawler.settings.getint("CONCURRENT_REQUESTS")
        spider.setup_redis(crawler)
        return spider

    @property
    def worker(self) -> FrontierWorker:
        return frontier_worker(self.crawler)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Seed the crawl if this worker began it; requests come on ``spider_idle``."""
        worker = self.worker
        if worker.seeds:
            session = self.session
            try:
                chosen = select_resources(worker.store, self.wanted(), session.now())
            except Exception as exc:
                session.fail(f"could not select resources: {exc}")
                raise
            queued = worker.frontier.push(chosen.chosen, chosen.in_browser)
            worker.frontier.seeded()
            self.logger.info("%d resources queued in the frontier", queued)
        self.requisites  # noqa: B018 - connects its idle check before the first request
        for request in self.next_requests():
            yield request

    def pop_list_queue(self, redis_key: str, batch_size: int) -> list[Any]:
        # scrapy-redis pops and forgets; the frontier pops and leases in one step
        entries = self.worker.frontier.pop(batch_size)
        self.worker.leased.update(entry["resource_id"] for entry in entries)
        return entries

    def make_request_from_data(self, data: Any) -> scrapy.Request | list[scrapy.Request]:
        rid, url = data["resource_id"], data["url"]
        worker = self.worker
        if data.get("requeued") and worker.recorded_in_crawl(rid):
            worker.frontier.finish(rid, failed=False)
            worker.leased.discard(rid)
            return []
        if data.get("browser") or wants_browser(self.settings, url):
            return browser_request(self, rid, url)
        meta = {"resource_id": rid, HOPS: []}
        return scrapy.Request(
            url, callback=self.parse, errback=self.failed, dont_filter=True, meta=meta
        )

    def spider_idle(self) -> None:
        """More from the frontier, or wait for what other workers hold; close once the
        crawl is drained."""
        worker = self.worker
        worker.frontier.requeue_expired()
        scheduled = False
        for request in self.next_requests():
            self.crawler.engine.crawl(request)
            scheduled = True
        if scheduled or not worker.frontier.drained():
            raise DontCloseSpider
