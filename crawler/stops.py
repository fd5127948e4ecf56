"""Stopping a crawl early: on SIGTERM or Ctrl-C, or when the WARC files cannot be written.

A first SIGTERM or Ctrl-C says at once, on stderr, what is left (``stopping: N requests
in flight, M previews pending``), cancels every download still running or waiting (sent
and not answered, queued behind its host's delay, waiting out a retry's backoff) and
closes the spider through Scrapy (``Crawler.stop_async``, reason ``shutdown``). What was
recorded stays whole: pages still waiting for their preview are recorded without one (for
``archive extract --pending``), fetches cut short are not recorded at all (they are due
again), the WARC file is closed and the job marked ``stopped``. With a JOBDIR the first
stop is Scrapy's pause: requests already sent are answered and recorded, those not sent
yet go back to the queue on disk for the next run.

A second signal stops at once: no further write starts, the one under way finishes, the
WARC file is closed, the job marked, and the process exits (1) without waiting for
anything else.

A WARC write that fails (a full disk, a read-only folder) stops the crawl the same way,
said once on stderr: the session refuses every later write, so no row is committed
without its records, and the errors that follow from it are not logged again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

from scrapy import Request, signals
from scrapy.core.downloader import Downloader
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, IgnoreRequest
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.ossignal import install_shutdown_handlers, signal_names
from twisted.internet.defer import CancelledError, Deferred
from twisted.python.failure import Failure

from archive.crawl import EARLY_SIGNALS, STOPPED
from crawler.items import FetchItem
from crawler.pipelines import PENDING
from crawler.session import WritesRefused, archive_session, warc_unwritable

logger = logging.getLogger(__name__)

#: The error message of a fetch the stop cut short (on its item, or its requisite's outcome).
CUT_SHORT = "the crawl stopped before this fetch finished"
#: Scrapy's loggers that would report, once per request or item, what a stop cut short.
_LOGGERS = (
    "scrapy.core.scraper",
    "scrapy.core.engine",
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.downloadermiddlewares.retry",
)


#: what a cancelled fetch fails with (Twisted's, or asyncio's from a cancelled task)
_CANCELLED = (CancelledError, asyncio.CancelledError)


class CrawlStopped(IgnoreRequest):
    """A download cancelled because the crawl is stopping."""


def _is_stop(value: Any) -> bool:
    """Whether ``value`` (an exception, a Failure) is a stop's doing."""
    if isinstance(value, Failure):
        value = value.value
    seen = set()
    while isinstance(value, BaseException) and id(value) not in seen:
        if isinstance(value, CrawlStopped | WritesRefused):
            return True
        seen.add(id(value))
        value = value.__cause__ or value.__context__
    return False


class _Quiet(logging.Filter):
    """Drops the log lines of what a stop cut short: it was said once, on stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and _is_stop(record.exc_info[1]):
            return False
        args = record.args if isinstance(record.args, dict) else {}
        return not any(_is_stop(value) for value in args.values())


class StoppableDownloader(Downloader):
    """Scrapy's downloader, keeping each fetch so that a stop can cancel it."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.fetches: dict[Request, Deferred[Any]] = {}
        self.stopping = False

    def fetch(self, request: Request, spider: Any = None) -> Deferred[Any]:
        fetch: Deferred[Any] = super().fetch(request)
        self.fetches[request] = fetch
        fetch.addBoth(self._done, request)
        return fetch

    def _done(self, result: Any, request: Request) -> Any:
        self.fetches.pop(request, None)
        cancelled = isinstance(result, Failure) and result.check(*_CANCELLED)
        if self.stopping and cancelled:
            return Failure(CrawlStopped(CUT_SHORT))
        return result

    def cancel(self, keep_sent: bool) -> list[Request]:
        """Cancel the fetches under way (but those whose request was sent, if
        ``keep_sent``); the requests cancelled."""
        self.stopping = True
        sent = set()
        for slot in self.slots.values():
            slot.queue.clear()  # never sent: nothing left to start them
            sent |= slot.transferring
        cancelled = [r for r in self.fetches if not (keep_sent and r in sent)]
        for request in cancelled:
            self.fetches[request].cancel()
        return cancelled


class Stops:
    """Scrapy extension: the crawl's signal handlers and its early stops."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.signals = 0
        self.stopping = False
        self.quiet = _Quiet()
        # before crawler.logs.HostWarnings (at engine_started) rewrites the records it keeps
        for name in _LOGGERS:
            logging.getLogger(name).addFilter(self.quiet)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Stops:
        stops = cls(crawler)
        crawler.signals.connect(stops.install, signal=signals.engine_started)
        crawler.signals.connect(stops.remove, signal=signals.engine_stopped)
        crawler.signals.connect(stops.unwritable, signal=warc_unwritable)
        return stops

    def install(self) -> None:
        # In place of Scrapy's (installed as the reactor started), or `archive crawl`'s.
        install_shutdown_handlers(self._signalled)
        if EARLY_SIGNALS.received:  # said already; acted on once the engine runs
            self.signals = 1
            call_later(0, self.stop, EARLY_SIGNALS.received)

    def remove(self) -> None:
        for name in _LOGGERS:
            logging.getLogger(name).removeFilter(self.quiet)

    def _signalled(self, signum: int, _: Any) -> None:
        """The signal handler: says so at once (on the reactor thread, which may be busy
        for a while), and leaves the stop to the reactor."""
        from twisted.internet import reactor

        self.signals += 1
        name = signal_names.get(signum, str(signum))
        downloader = self.crawler.engine.downloader
        if self.signals == 1:
            stats = self.crawler.stats
            pending = (stats.get_value(PENDING) if stats else None) or 0
            _say(
                f"stopping: {len(downloader.active)} requests in flight, {pending} previews pending"
            )
            reactor.callFromThread(self.stop, name)
        else:
            install_shutdown_handlers(signal.SIG_IGN)
            _say(f"stopping at once: {len(downloader.active)} requests abandoned")
            reactor.callFromThread(self.stop_now, name)

    # -- stops ------------------------------------------------------------------------

    def stop(self, signame: str) -> None:
        """The first signal: finish what is recorded, cancel the rest, close the spider."""
        session = archive_session(self.crawler)
        session.stopped = f"stopped by {signame}"
        self._stopping(session.stopped, keep_sent=bool(self.crawler.settings.get("JOBDIR")))
        self._wait(deferred_from_coro(self.crawler.stop_async()))

    def unwritable(self, message: str) -> None:
        """A WARC write failed: say so once, and stop; nothing more can be recorded."""
        sys.stderr.flush()
        _say(f"error: {message}")
        self._stopping(message, keep_sent=False)
        engine = self.crawler.engine
        if engine.spider is not None:
            self._wait(deferred_from_coro(engine.close_spider_async(reason="warc-unwritable")))

    def stop_now(self, signame: str) -> None:
        """The second signal: the write under way finishes, the rest is abandoned."""
        session = archive_session(self.crawler)
        session.stopped = session.refused = f"stopped at once by a second {signame}"
        self._stop_previews()
        downloader = self.crawler.engine.downloader
        if isinstance(downloader, StoppableDownloader) and self.crawler.settings.get("JOBDIR"):
            self._requeue(downloader.cancel(keep_sent=False))
        # the writer thread finishes its write, the file is closed, the job marked
        session.spider_closed(self.crawler.spider, "shutdown")
        scheduler = self.crawler.engine.scheduler
        if scheduler is not None and self.crawler.settings.get("JOBDIR"):
            try:  # its queue on disk, whole for the next run
                scheduler.close("shutdown")
            except Exception:  # noqa: BLE001 - leaving anyway: the next run starts afresh
                logger.warning("the JOBDIR queue could not be saved", exc_info=True)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    def _stopping(self, why: str, keep_sent: bool) -> None:
        if self.stopping:
            return
        self.stopping = True
        if self.crawler.stats:
            self.crawler.stats.set_value(STOPPED, why)
        # Scrapy's pause: nothing more leaves the scheduler (cancelling below frees slots)
        self.crawler.engine.pause()
        self._stop_previews()
        downloader = self.crawler.engine.downloader
        if isinstance(downloader, StoppableDownloader):
            cancelled = downloader.cancel(keep_sent)
            if self.crawler.settings.get("JOBDIR"):
                self._requeue(cancelled)

    def _stop_previews(self) -> None:
        """Pages waiting for a preview are recorded without one (the record pipeline's)."""
        scraper = self.crawler.engine.scraper
        for pipeline in getattr(scraper.itemproc, "middlewares", ()):
            if hasattr(pipeline, "stop_previews"):
                pipeline.stop_previews()

    def _requeue(self, requests: list[Request]) -> None:
        """Pages whose fetch was cut short go back to the JOBDIR queue, for the next run
        (marked seen by the queue's filter already, so they skip it)."""
        for request in requests:
            if "resource_id" in request.meta:
                self.crawler.engine.crawl(request.replace(dont_filter=True))

    @staticmethod
    def _wait(closing: Deferred[Any]) -> None:
        closing.addErrback(lambda f: logger.error("stopping the crawl failed: %s", f.value))


class DropStopped:
    """Item pipeline, before the record pipeline: a fetch the stop cut short is no
    capture (it is due again), and once writes are refused nothing more is recorded."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DropStopped:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchItem):
            return item
        refused = archive_session(self.crawler).refused
        if refused is not None:
            raise DropItem(refused, log_level="DEBUG")
        if cut_short(item):
            raise DropItem(CUT_SHORT, log_level="DEBUG")
        return item


def cut_short(item: FetchItem) -> bool:
    """Whether the stop cut the item's fetch, or one of its requisites', short."""
    messages = [item.error_message, *(r.error_message for r in item.requisites)]
    return any(CUT_SHORT in (message or "") for message in messages)


def _say(line: str) -> None:
    """One line on stderr, now: written to the file descriptor, as a signal handler may
    (the interrupted code may be in the middle of writing to ``sys.stderr``)."""
    with contextlib.suppress(OSError):
        os.write(2, (line + "\n").encode())
