"""The archive side of one crawl: the store, the WARC writer and the job row.

A Scrapy extension, so it lives exactly as long as the crawl; the capture
middleware and the record pipeline reach it through ``crawler.get_extension``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from archive.capture.record import FetchOutcome, record_capture, url_hash
from archive.config import Config, load_config
from archive.store.db import Store
from archive.store.jobs import start_job
from archive.store.locks import crawl_lock
from archive.store.models import Capture, CaptureRequisite, Job
from archive.warc import RevisitTarget, WarcWriter, repair_open_files
from archive.warc.records import software

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    """One moment, as the WARC and the store each tell it."""

    #: the wall clock: a record's WARC-Date, whatever the crawl clock says
    wall: datetime
    #: the crawl's clock at the same moment: a capture's fetched_at, the link-state times
    crawl: datetime
    #: for durations, which neither clock may give (either can jump)
    monotonic: float


class Clock:
    """The crawl's time. ``ARCHIVE_CLOCK=2026-01-01T00:00:00Z`` starts it at that instant
    (it then runs at the normal pace), so schedules can be tested and replayed over
    weeks without waiting; unset, it is the wall clock."""

    def __init__(self, start: str | None) -> None:
        self.start = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.reading().crawl

    def reading(self) -> Reading:
        """Both clocks read at once, so that a capture's fetched_at and its records'
        WARC-Date name the same instant (equal unless ``ARCHIVE_CLOCK`` shifts the crawl)."""
        monotonic, wall = time.monotonic(), datetime.now(UTC)
        if self.start is None:
            return Reading(wall, wall, monotonic)
        return Reading(wall, self.start + timedelta(seconds=monotonic - self._t0), monotonic)


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
        self.store = Store(config)
        for report in repair_open_files(config.warc_dir):
            logger.warning("repaired WARC left open by an interrupted crawl: %s", report)
        settings = crawler.settings
        self.writer = WarcWriter(
            config.warc_dir,
            prefix=config.warc_prefix,
            max_size=config.warc_max_size,
            info={
                "software": software(),
                "operator": config.operator,
                "http-header-user-agent": settings.get("USER_AGENT"),
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "description": "Captures of cited sources",
            },
        )
        # Every write to the WARC files and the store's record path runs on this one thread:
        # the reactor thread then spends no time in zlib (which releases the GIL, so the
        # compression uses the other core), and one thread keeps the records in order.
        self._writes = ThreadPool(minthreads=1, maxthreads=1, name="warc-writer")
        self._writes.start()
        self.counts: dict[str, int] = {}
        #: Failures of the run itself (not of the links it checked): any makes the job fail.
        self.failures: list[str] = []
        #: How many resources this run set out to capture (for progress lines).
        self.expected = 0
        self.clock = Clock(settings.get("ARCHIVE_CLOCK"))
        #: Each request copy's exchange, set by the download handler when it is sent. Keyed
        #: by the request object: a redirect or retry is a new copy (its meta is copied, so a
        #: meta key would carry the parent's time until the copy itself is sent).
        self.exchanges: WeakKeyDictionary[Request, Exchange] = WeakKeyDictionary()
        #: Why nothing more is written, once a write failed or the crawl stopped at once.
        self.refused: str | None = None
        #: Why the crawl was stopped before its end (a signal), for the job row.
        self.stopped: str | None = None
        self.closed = False
        self._lock = None
        self.job_id = settings.getint("ARCHIVE_JOB_ID")
        if not self.job_id:  # `scrapy crawl` run directly: take the store's lock ourselves
            self._lock = crawl_lock(config.home, store=self.store)
            self._lock.__enter__()
            self.job_id = start_job(self.store, {"spider": "resources"}, self.now())

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveSession:
        session = cls(crawler, load_config(crawler.settings))
        crawler.signals.connect(session.spider_closed, signal=signals.spider_closed)
        return session

    def now(self) -> datetime:
        return self.clock.now()

    def in_writer(self, fn: Any, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Run ``fn`` on the writer thread, after every write handed to it before."""
        from twisted.internet import reactor

        return deferToThreadPool(reactor, self._writes, self._write, fn, *args, **kwargs)

    def _write(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn`` on the writer thread, unless writes are refused. The first that fails with
        an OSError (a full disk, a read-only folder) refuses all later ones, and says so."""
        if self.refused is not None:
            raise WritesRefused(self.refused)
        name = self.writer.current_filename
        try:
            return fn(*args, **kwargs)
        except OSError as exc:
            from twisted.internet import reactor

            what = f"WARC files in {self.config.warc_dir}"
            if exc.filename:
                what = f"WARC file {exc.filename}"
            elif name:
                what = f"WARC file {self.config.warc_dir / name}"
            self.refused = f"cannot write {what}: {exc.strerror or exc}"
            reactor.callFromThread(
                self.crawler.signals.send_catch_log, warc_unwritable, message=self.refused
            )
            raise WritesRefused(self.refused) from exc

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
        self._writes.stop()  # waits for the writes already handed to it
        self.writer.close()
        with self.store.session() as s:
            job = s.get(Job, self.job_id)
            if job is not None:
                job.finished_at = self.now()
                told = [m for m in (self.stopped, self.refused) if m]
                messages = list(dict.fromkeys(told + self.failures))
                failed = messages or reason != "finished"
                job.status = "stopped" if self.stopped else "failed" if failed else "finished"
                job.message = "; ".join(messages[:5]) or (None if not failed else reason)
                job.counts = dict(self.counts)
        self.store.close()
        if self._lock is not None:
            self._lock.__exit__(None, None, None)

    def fail(self, message: str) -> None:
        if self.refused is not None:  # a consequence: the cause was said, once
            return
        logger.error("crawl failure: %s", message)
        self.failures.append(message)

    # -- what the middleware and pipeline ask of the store ---------------------------------

    def revisit_target(self, url: str, resource_id: str | None) -> RevisitTarget | None:
        """The latest full capture of ``url`` a new identical payload can refer to: for a
        resource's page, among that resource's captures; for a page requisite (no
        ``resource_id``), among the requisites fetched before. Both by an index: this runs
        for every response."""
        with self.store.session() as s:
            if resource_id is None:
                return self._requisite_target(s, url)
            last = s.scalar(
                select(Capture)
                .where(
                    Capture.resource_id == resource_id,
                    Capture.final_url == url,
                    Capture.payload_digest.is_not(None),
                    Capture.warc_record_id.is_not(None),
                )
                .order_by(Capture.fetched_at.desc())
                .limit(1)
            )
            if last is not None and last.is_revisit and last.revisit_of:
                last = s.get(Capture, last.revisit_of)
            if last is None or last.is_revisit or not last.warc_date:
                return None
            return RevisitTarget(
                last.warc_record_id or "", url, last.warc_date, last.payload_digest or ""
            )

    def _requisite_target(self, s: Any, url: str) -> RevisitTarget | None:
        """The latest full response of ``url`` fetched as a page requisite (a stylesheet
        shared by a site's pages is a revisit in every later crawl while unchanged)."""
        last = s.scalar(
            select(CaptureRequisite)
            .where(
                CaptureRequisite.final_url_hash == url_hash(url),
                CaptureRequisite.final_url == url,
                CaptureRequisite.is_revisit.is_(False),
                CaptureRequisite.status.between(200, 299),
                CaptureRequisite.payload_digest.is_not(None),
                CaptureRequisite.warc_record_id.is_not(None),
                CaptureRequisite.warc_date.is_not(None),
            )
            .order_by(CaptureRequisite.id.desc())
            .limit(1)
        )
        if last is None:
            return None
        return RevisitTarget(
            last.warc_record_id or "", url, last.warc_date or "", last.payload_digest or ""
        )

    def record(self, s: Session, outcome: FetchOutcome) -> None:
        """Add the capture row to ``s``, the record path's one transaction; only called
        once the capture's WARC records are flushed."""
        outcome.job_id = self.job_id
        record_capture(
            s,
            outcome,
            refresh_days=self.config.refresh_days,
            refresh_by_type=self.config.refresh_by_type,
            now=outcome.fetched_at,
        )

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
            "[%d/%d] %s %s -> %s",
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
