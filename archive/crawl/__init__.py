"""Running the ``resources`` spider for ``archive crawl``: its recorder first, then Scrapy.

The spider is named, never imported: Scrapy finds it through the project's
``SPIDER_MODULES``, so ``archive/`` stays independent of ``crawler/``. So is the recorder
(``crawler.recorder``), imported by name when the crawl starts it.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import multiprocessing
import os
import signal
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from archive.config import Config, SettingError, check_settings
from archive.crawl.opening import Clock, Opening
from archive.rot.selection import Wanted

logger = logging.getLogger(__name__)

#: crawler stats key: why the crawl was stopped before its end, once that was said on
#: stderr (a signal, a WARC file that cannot be written); set by ``crawler.stops``
STOPPED = "archive/stopped"


@dataclass
class CrawlResult:
    finish_reason: str
    job_id: int
    status: str
    message: str | None
    counts: dict[str, int]
    #: why the run was stopped early, already told to the user as it happened
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "finished"


#: What the crawl's worker processes run, by name: the archive names the crawler's modules
#: as it names its spider, without importing them. The recorder (its process's side, and
#: the record path it opens); the preview workers.
RECORDER = "crawler.recorder"
RECORDER_MODULES = ("crawler.record_server", "crawler.record_path")
PREVIEW_MODULES = ("archive.capture.pool",)


@dataclass
class StartedCrawl:
    """What ``run_crawl`` starts before Scrapy loads, for the crawl's session to take."""

    #: the recorder (crawler.recorder.Recorder): opening the store, making the job row
    recorder: Any
    clock: Clock
    #: the Deferred of the resources the recorder selects (None: the spider selects)
    selection: Any


_started: list[StartedCrawl] = []


def started_crawl() -> StartedCrawl | None:
    """The recorder and clock ``run_crawl`` started for this process's crawl, once; None
    for a crawl run otherwise (``scrapy crawl resources``), which starts its own."""
    return _started.pop() if _started else None


def warm_up(previews: bool = True) -> None:
    """Start the crawl's worker processes' server, first thing in the crawl's process.

    The workers are forked by multiprocessing's forkserver, started here with their
    modules preloaded: it imports SQLAlchemy, warcio and lxml on the other core while this
    process loads Scrapy, and each worker then starts at once instead of importing them
    itself. The recorder is forked once the preload is done: without ``previews`` (they
    are deferred, no preview worker runs) the extractor's modules are not preloaded, and
    the recorder opens the store a tenth of a second sooner.
    """
    multiprocessing.set_forkserver_preload(
        [*RECORDER_MODULES, *(PREVIEW_MODULES if previews else ())]
    )
    from multiprocessing import forkserver

    # The server (and multiprocessing's resource tracker, which it starts) ignores SIGTERM,
    # as it ignores SIGINT already: one sent to the whole process group (systemd, `timeout`,
    # `docker stop`) must not kill it, or the recorder's exit status is lost and no worker
    # can be started again. Blocked meanwhile: this process's own is delivered after.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _import_scrapy_tls() -> None:
    """Scrapy's TLS modules, imported from a shallow stack: they create deprecated aliases,
    and ``create_deprecated_class`` calls ``inspect.stack()``, which reads every frame's
    source. Reached through the spider loader's imports, twenty levels deep with two
    thousand modules loaded, that takes a third of a second; from here, a tenth of that."""
    import scrapy.core.downloader.contextfactory  # noqa: F401


def scrapy_settings(config: Config, overrides: dict[str, Any]) -> Any:
    """The project's Scrapy settings, with this run's archive config applied on top."""
    from scrapy.utils.project import get_project_settings

    # The installed `settings` package, wherever `archive` is run from (no scrapy.cfg needed).
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "settings")
    settings = get_project_settings()
    values = {
        "ARCHIVE_HOME": str(config.home),
        "ARCHIVE_DATABASE_URL": config.database_url,
        "ARCHIVE_ALLOW_PRIVATE": config.allow_private,
        "ARCHIVE_MAX_BODY_SIZE": config.max_body_size,
        "ARCHIVE_WARC_MAX_SIZE": config.warc_max_size,
        "ARCHIVE_WARC_GZIP_LEVEL": config.warc_gzip_level,
        "ARCHIVE_REQUISITES": config.requisites,
        "ARCHIVE_REQUISITES_MAX": config.requisites_max,
        "ARCHIVE_REQUISITES_MAX_BYTES": config.requisites_max_bytes,
        "ARCHIVE_DEFER_PREVIEWS": config.defer_previews,
        "ARCHIVE_EXTRACT_WORKERS": config.extract_workers,
        "ARCHIVE_EXTRACT_MEMORY": config.extract_memory,
        "ARCHIVE_EXTRACT_TIMEOUT": config.extract_timeout,
        "ARCHIVE_EXTRACT_MAX_INPUT": config.extract_max_input,
        "ARCHIVE_EXTRACT_MAX_PDF_PAGES": config.extract_max_pdf_pages,
        "ROBOTSTXT_OBEY": config.obey_robots,
        "DOWNLOAD_DELAY": config.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": config.concurrency_per_host,
        "DOWNLOAD_TIMEOUT": config.timeout,
        "LOG_FILE_APPEND": True,
    }
    if not config.download_delay:
        values["AUTOTHROTTLE_START_DELAY"] = 0.1
    # Scrapy's remote control is off (settings/__init__.py); left out of the extensions, it
    # is not even imported, nor aiohttp's web server with it: a fifth of a second a crawl.
    values["EXTENSIONS_BASE"] = {
        name: order
        for name, order in settings.getdict("EXTENSIONS_BASE").items()
        if not str(name).endswith(".RemoteControl")
    }
    if config.frontier_url:
        values.update(frontier_settings(config, settings))
    values.update(overrides)
    settings.setdict(values, priority="cmdline")
    return settings


#: the spider of a frontier worker (crawler/frontier.py), named like the other one
FRONTIER_SPIDER = "resources-frontier"


def frontier_settings(config: Config, settings: Any) -> dict[str, Any]:
    """What makes a crawl one worker of the crawl shared at ``config.frontier_url``:
    scrapy-redis's feeding, a lease per resource, and politeness kept in Redis. The delay
    between requests to a host is the shared slots' (crawler/polite.py): Scrapy's own
    per-process delay and AutoThrottle would only add to it, differently per worker."""
    middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    middlewares.pop("crawler.middlewares.RobotsTxtMiddleware", None)
    middlewares["crawler.polite.SharedRobotsTxtMiddleware"] = 100
    # after robots.txt (a refused request takes no slot), next to the downloader: its
    # slot frees as the answer arrives, not once the WARC record is written
    middlewares["crawler.polite.HostSlotMiddleware"] = 960
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    pipelines["crawler.frontier.ClaimPipeline"] = 200
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["crawler.frontier.FrontierWorker"] = 10
    return {
        "ARCHIVE_FRONTIER_URL": config.frontier_url,
        "ARCHIVE_FRONTIER_PREFIX": config.frontier_prefix,
        "ARCHIVE_FRONTIER_LEASE": config.frontier_lease,
        "ARCHIVE_WORKER_NAME": config.worker,
        "ARCHIVE_DOWNLOAD_DELAY": config.download_delay,
        "ARCHIVE_CONCURRENCY_PER_HOST": config.concurrency_per_host,
        # its own module, not in crawler.spiders: a single-machine crawl needs no scrapy-redis
        "SPIDER_MODULES": [*settings.getlist("SPIDER_MODULES"), "crawler.frontier"],
        "REDIS_URL": config.frontier_url,
        "REDIS_START_URLS_KEY": f"{config.frontier_prefix}:frontier:queue",
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOADER_MIDDLEWARES": middlewares,
        "ITEM_PIPELINES": pipelines,
        "EXTENSIONS": extensions,
    }


def check_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """``-s NAME=VALUE`` settings, checked before anything starts: the archive's own and
    the Scrapy ones it derives by their rules (``settings.env.CHECKS``), any other Scrapy
    setting whose default is a number must parse as one. Raises :class:`SettingError`."""
    from scrapy.settings import default_settings

    values = check_settings(overrides, "-s ")
    for name, value in values.items():
        default = getattr(default_settings, name, None)
        if not isinstance(value, str) or not isinstance(default, int | float):
            continue
        if isinstance(default, bool):  # Scrapy reads 1/0, true/false, ...
            continue
        kind, must = (int, "a whole number") if isinstance(default, int) else (float, "a number")
        try:
            kind(value)
        except ValueError:
            raise SettingError(f"-s {name}={value!r} is not valid: must be {must}") from None
    return values


def _warnings_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


# Scrapy's start-up banner, component lists and statistics dump: useful when debugging the
# crawler, noise around `archive crawl`'s own progress lines and summary (``--verbose``).
CHATTY_LOGGERS = (
    "scrapy.utils.log",
    "scrapy.addons",
    "scrapy.middleware",
    "scrapy.crawler",
    "scrapy.core.engine",
    "scrapy.statscollectors",
    "scrapy.extensions.logstats",
)


class EarlySignals:
    """The signal handler of a run until the crawl's own take over (``crawler.stops``,
    once its engine runs): a first SIGTERM or SIGINT is said at once and kept for the
    crawl to act on as soon as it can; a second one ends the process as it would have."""

    def __init__(self) -> None:
        #: the name of the signal received, if any
        self.received: str | None = None

    def __call__(self, signum: int, _: Any) -> None:
        if self.received is None:
            self.received = signal.Signals(signum).name
            with contextlib.suppress(OSError):  # unbuffered: safe in a signal handler
                os.write(2, b"stopping: 0 requests in flight, 0 previews pending\n")
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


#: this process's (its reactor runs once)
EARLY_SIGNALS = EarlySignals()


def _quiet_scrapy(verbose: bool) -> None:
    for name in CHATTY_LOGGERS:
        # a filter, not a level: Scrapy's logging set-up resets the levels of its loggers
        chatty = logging.getLogger(name)
        chatty.removeFilter(_warnings_only)
        if not verbose:
            chatty.addFilter(_warnings_only)


#: crawler stats key: how the crawl's session closed its job, (status, message, counts)
JOB_CLOSED = "archive/job"


def run_crawl(
    config: Config, spider_args: dict[str, Any], overrides: dict[str, Any], verbose: bool = False
) -> CrawlResult:
    """Run one crawl in this process (Twisted's reactor can start only once per process).

    The recorder process is started first: it opens the store, makes the job row and
    selects the resources while this process loads Scrapy, which never imports the store
    (SQLAlchemy alone is a quarter of a second). The crawl closes its job; one that dies
    before it could is closed here as failed. SIGTERM and SIGINT are the crawl's to handle
    (``crawler.stops``); one that comes before it can is kept for it (:data:`EARLY_SIGNALS`).
    """
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, EARLY_SIGNALS) for sig in signals}
    try:
        settings = scrapy_settings(config, {**overrides, "ARCHIVE_LOG_TRACEBACKS": verbose})
        started = _start_recorder(config, settings, spider_args)
        crawler = None
        try:
            crawler = _crawl(started, settings, config, spider_args, verbose)
        finally:
            result = _close_job(started, crawler, config)
    finally:
        _started.clear()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return result


def _start_recorder(config: Config, settings: Any, spider_args: dict[str, Any]) -> StartedCrawl:
    """The crawl's recorder, for the session to take (:func:`started_crawl`)."""
    job: dict[str, Any] = {"args": {k: str(v) for k, v in spider_args.items() if v}}
    if config.frontier_url:
        from archive.frontier.state import redacted

        job["frontier"] = {"url": redacted(config.frontier_url), "worker": config.worker}
    # a frontier's spider selects in its first worker only
    wanted = None if config.frontier_url else Wanted.of(**spider_args)
    started = start_recorder(config, settings, job, wanted)
    _started[:] = [started]
    return started


def start_recorder(
    config: Config, settings: Any, job: dict[str, Any], wanted: Wanted | None
) -> StartedCrawl:
    """A crawl's recorder, named (``crawler.recorder``), and the crawl's clock: it makes
    the job row (``job``, its settings) and selects the ``wanted`` resources, if any."""
    clock = Clock(settings.get("ARCHIVE_CLOCK"))
    user_agent, obey_robots = settings.get("USER_AGENT"), settings.getbool("ROBOTSTXT_OBEY")
    opening = Opening(config, job, clock.now(), os.getpid(), user_agent, obey_robots)
    recorder = importlib.import_module(RECORDER).Recorder(opening)
    selection = None if wanted is None else recorder.call("select", wanted, clock.now())
    return StartedCrawl(recorder, clock, selection)


def _crawl(
    started: StartedCrawl,
    settings: Any,
    config: Config,
    spider_args: dict[str, Any],
    verbose: bool,
) -> Any:
    """Load Scrapy, make the crawl and run it to its end: the crawler."""
    from scrapy.crawler import CrawlerProcess

    _import_scrapy_tls()
    _quiet_scrapy(verbose)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(FRONTIER_SPIDER if config.frontier_url else "resources")
    process.crawl(crawler, **{k: v for k, v in spider_args.items() if v not in (None, "")})
    # the store's own errors (a database that cannot be opened) before the crawl starts
    started.recorder.wait_opened()
    # What start-up made (Scrapy's modules and components) lives as long as the crawl: out
    # of the cyclic collector's view, which would walk those few hundred thousand objects
    # again at each full collection (a tenth of a second each).
    gc.freeze()
    # ours stay until the crawl's replace them: a signal is never lost in between
    process.start(install_signal_handlers=False)
    return crawler


def _close_job(started: StartedCrawl, crawler: Any, config: Config) -> CrawlResult:
    """The crawl's result, as its session closed the job; a job it never got to close is
    closed here, failed. The recorder is closed either way (again: nothing)."""
    recorder = started.recorder
    stats = crawler.stats.get_stats() if crawler is not None and crawler.stats else {}
    reason = str(stats.get("finish_reason", "failed"))
    closed = stats.get(JOB_CLOSED)
    job_id = recorder.job_id or 0
    unclosed = closed is None  # the crawl never got to close its job
    if closed is None:
        closed = ("failed", f"the crawl stopped early ({reason})", {})
        ending = recorder.call("finish_job", *closed, started.clock.now())
        ending.addErrback(lambda _: None)  # a recorder that never opened has no job
    recorder.close(timeout=60)
    if unclosed and recorder.died is not None and job_id:
        close_job_here(config, job_id, closed, started.clock.now())
    status, message, counts = closed
    return CrawlResult(reason, job_id, status, message, dict(counts), stats.get(STOPPED))


def close_job_here(
    config: Config, job_id: int, closed: tuple[str, str | None, dict[str, int]], at: datetime
) -> None:
    """Close the job row from the crawl's process, its recorder having died before it could
    (killed by the out-of-memory killer, say): the one time this process opens the store,
    when SQLAlchemy's import no longer matters."""
    from archive.store.db import Store
    from archive.store.jobs import finish_job

    try:
        store = Store(config, migrate=False)
        try:
            with store.session() as s:
                status, message, counts = closed
                finish_job(s, job_id, status, message, counts, at)
        finally:
            store.close()
    except Exception as exc:  # noqa: BLE001 - the next crawl marks it interrupted
        logger.warning("could not close job %d: %s", job_id, exc)
