"""The archive side of one crawl: its recorder, its clock and its job's counts.

A Scrapy extension, so it lives exactly as long as the crawl; the capture
middleware and the record pipeline reach it through ``crawler.get_extension``. The store,
the WARC files and the job row are the recorder process's (crawler/recorder.py): this
process never imports SQLAlchemy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred, fail
from twisted.python.failure import Failure

from archive.capture.outcome import FetchOutcome
from archive.config import Config, load_config
from archive.crawl import (
    JOB_CLOSED,
    StartedCrawl,
    close_job_here,
    start_recorder,
    started_crawl,
)
from archive.crawl.opening import Reading
from archive.rot.selection import Selection
from archive.store.locks import crawl_lock, lock_store
from crawler.record_errors import RecorderDied, WriteFailed
from crawler.recorder import Recorder

logger = logging.getLogger(__name__)


@dataclass
class Exchange:
    """When one HTTP exchange (one copy of a request) was sent, and how long its answer took."""

    sent: Reading
    #: from sending to the whole answer (response body or error); None until it came
    duration_ms: int | None = None


#: Scrapy signal, sent once (on the reactor thread) when a WARC write fails: ``message``
#: says what could not be written and why (``crawler.stops`` stops the crawl).
warc_unwritable = object()


class WritesRefused(IgnoreRequest):
    """Nothing more is written to the WARC files or the store: a write failed (the rest
    would fail too, or leave rows without their records), or the crawl stopped at once."""


#: job counts that count some of the captures again, not captures of their own
PREVIEWS_PENDING = "previews_pending"
_NOT_CAPTURES = ("revisits", PREVIEWS_PENDING)


class ArchiveSession:
    def __init__(self, crawler: Crawler, config: Config) -> None:
        self.crawler = crawler
        self.config = config
        self.counts: dict[str, int] = {}
        #: Failures of the run itself (not of the links it checked): any makes the job fail.
        self.failures: list[str] = []
        #: How many resources this run set out to capture (for progress lines).
        self.expected = 0
        #: which worker of a shared crawl says a progress line ("" when not one)
        self.worker_label = f"{config.worker} " if config.frontier_url else ""
        #: Each request copy's exchange, set by the download handler when it is sent. Keyed
        #: by the request object: a redirect or retry is a new copy (its meta is copied, so a
        #: meta key would carry the parent's time until the copy itself is sent).
        self.exchanges: WeakKeyDictionary[Request, Exchange] = WeakKeyDictionary()
        #: Why nothing more is written, once a write failed or the crawl stopped at once.
        self.refused: str | None = None
        #: Why the crawl was stopped before its end (a signal), for the job row.
        self.stopped: str | None = None
        self.closed = False
        self._lock: Any = None
        # `archive crawl` started the recorder before Scrapy loaded, and asked it for the
        # crawl's resources; `scrapy crawl resources` run directly starts its own here.
        started = started_crawl() or self._start_alone(crawler, config)
        self.clock = started.clock
        # Every write to the WARC files and the store is the recorder's: a process of its
        # own, so the reactor's spends no time in zlib, warcio or SQLAlchemy.
        self.recorder: Recorder = started.recorder
        self.recorder.on_death = self._refuse
        self.recorder.attach()
        self._selection: Deferred[Selection] | None = started.selection
        if self._selection is not None:
            self._selection.addErrback(self._refused_write)

    def _start_alone(self, crawler: Crawler, config: Config) -> StartedCrawl:
        """The store's lock and a recorder of this crawl's own, which makes its job row;
        the recorder imports the lists and selects while Scrapy builds the engine."""
        self._lock = crawl_lock(config.home, store=lock_store(config))
        self._lock.__enter__()
        spider: Any = crawler.spider
        wanted = spider.wanted() if getattr(spider, "selects_early", False) else None
        return start_recorder(config, crawler.settings, {"spider": "resources"}, wanted)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveSession:
        session = cls(crawler, load_config(crawler.settings))
        crawler.signals.connect(session.spider_closed, signal=signals.spider_closed)
        return session

    @property
    def job_id(self) -> int:
        """The crawl's job row, made by the recorder as it opened the archive."""
        return self.recorder.wait_opened()

    async def selected(self) -> Selection:
        """The crawl's resources, as the recorder chose them when the crawl was made."""
        if self._selection is None:
            raise RuntimeError(f"{type(self.crawler.spider).__name__} selects no resources")
        selection, self._selection = self._selection, None
        chosen: Selection = await maybe_deferred_to_future(selection)
        return chosen

    def now(self) -> datetime:
        return self.clock.now()

    def call(self, method: str, *args: Any) -> Deferred[Any]:
        """``RecordPath.<method>(*args)`` in the recorder, after every call made before.
        Once a write failed (a full disk, a read-only folder) or the crawl stopped at
        once, every call fails with WritesRefused."""
        if self.refused is not None:
            return fail(WritesRefused(self.refused))
        return self.recorder.call(method, *args).addErrback(self._refused_write)

    def _refused_write(self, failure: Failure) -> Failure:
        if failure.check(WriteFailed, RecorderDied):
            self._refuse(str(failure.value))
            raise WritesRefused(self.refused) from failure.value
        return failure

    def _refuse(self, message: str) -> None:
        """Refuse every later write, and say why once (``crawler.stops`` stops the crawl)."""
        if self.refused is not None:
            return
        self.refused = message
        self.crawler.signals.send_catch_log(warc_unwritable, message=message)

    def fetch_time(self, request: Request) -> tuple[datetime, int | None]:
        """The fetched_at and duration_ms of ``request``'s own exchange: when it was sent
        (crawl clock) and how long its answer took; for a request refused before it was
        ever sent (robots.txt, a private address), now and None."""
        exchange = self.exchanges.get(request)
        if exchange is None:
            return self.now(), None
        return exchange.sent.crawl, exchange.duration_ms

    # -- jobs ----------------------------------------------------------------------------

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.closed:  # already, by a stop at once
            return
        self.closed = True
        if self._selection is not None:  # never asked for (the crawl stopped first)
            self._selection.addErrback(lambda _: None)
        told = [m for m in (self.stopped, self.refused) if m]
        messages = list(dict.fromkeys(told + self.failures))
        failed = messages or reason != "finished"
        status = "stopped" if self.stopped else "failed" if failed else "finished"
        message = "; ".join(messages[:5]) or (None if not failed else reason)
        closed = (status, message, dict(self.counts))
        if self.crawler.stats is not None:  # what `archive crawl` reports
            self.crawler.stats.set_value(JOB_CLOSED, closed)
        # the recorder's own call, not through ``call``: once writes are refused, the
        # job's row still says how the crawl ended
        ending = self.recorder.call("finish_job", *closed, self.now())
        ending.addErrback(
            lambda failure: logger.error("could not close the job: %s", failure.value)
        )
        # waits for the writes already handed to it (the one under way, after a stop at once)
        self.recorder.close(timeout=60)
        if self.recorder.died is not None and self.recorder.job_id:
            close_job_here(self.config, self.recorder.job_id, closed, self.now())
        if self._lock is not None:
            self._lock.__exit__(None, None, None)

    def fail(self, message: str) -> None:
        if self.refused is not None:  # a consequence: the cause was said, once
            return
        logger.error("crawl failure: %s", message)
        self.failures.append(message)

    # -- what the middleware and pipeline ask of the store ---------------------------------

    def count(self, outcome: FetchOutcome) -> None:
        """Count a committed capture in the job's counts, and say so in a progress line."""
        key = outcome.error_class or (
            f"http_{outcome.http_status // 100}xx" if outcome.http_status else "error"
        )
        self.counts[key] = self.counts.get(key, 0) + 1
        if outcome.is_revisit:
            self.counts["revisits"] = self.counts.get("revisits", 0) + 1
        if outcome.preview is None and outcome.payload_length:
            self.counts[PREVIEWS_PENDING] = self.counts.get(PREVIEWS_PENDING, 0) + 1
        done = sum(v for k, v in self.counts.items() if k not in _NOT_CAPTURES)
        logger.info(
            "[%s%d/%d] %s %s -> %s",
            self.worker_label,
            done,
            self.expected,
            outcome.capture_id,
            outcome.requested_url,
            outcome.http_status or outcome.error_class,
        )


def archive_session(crawler: Crawler) -> ArchiveSession:
    """The crawl's :class:`ArchiveSession` (an extension the project's settings enable)."""
    session = crawler.get_extension(ArchiveSession)
    if session is None:
        raise RuntimeError("the ArchiveSession extension is not enabled (EXTENSIONS setting)")
    return session
