"""Scrapy settings of the project (``scrapy.cfg`` points here).

Archive defaults live in ``settings/base.py``; environment overrides are applied
once, below, through ``settings/env.py``. Scrapy's own settings are derived from
them so that one variable governs both sides.
"""

from __future__ import annotations

import contextlib

from settings.base import *  # noqa: F403
from settings.env import overrides_from_env

# A bad value is reported, with the variable's name, by archive.config.load_config.
with contextlib.suppress(ValueError):
    globals().update(overrides_from_env())

BOT_NAME = "cited-archive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- Scrapy, derived from the archive settings above ------------------------
# (A run that overrides an ARCHIVE_* value with -s should override these too;
# `archive crawl` does so for the flags it offers.)
try:
    from importlib.metadata import version as _version

    _VERSION = _version("cited-archive")
except Exception:  # noqa: BLE001 - an uninstalled checkout still crawls
    _VERSION = "0"

USER_AGENT = f"cited-archive/{_VERSION} (+{ARCHIVE_CONTACT_URL})"  # noqa: F405
ROBOTSTXT_OBEY = ARCHIVE_OBEY_ROBOTS  # noqa: F405
DOWNLOAD_DELAY = ARCHIVE_DOWNLOAD_DELAY  # noqa: F405
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = ARCHIVE_CONCURRENCY_PER_HOST  # noqa: F405
DOWNLOAD_TIMEOUT = ARCHIVE_TIMEOUT  # noqa: F405
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = DOWNLOAD_DELAY or 0.5
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"  # a page that keeps failing is data, not a crawl error
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Bodies past ARCHIVE_MAX_BODY_SIZE are cut and archived as truncated by the capture
# middleware; a response announcing more than this is refused outright ("too-large").
# It does not bound decompression: crawler.compression stops decoding a body at
# ARCHIVE_MAX_BODY_SIZE (a bomb is archived as received and recorded as "too-large").
DOWNLOAD_MAXSIZE = 1024 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
COOKIES_ENABLED = True
# Scrapy advertises "br" whenever a `brotli` module imports, but pywb's brotlipy
# provides one with another API, and every br response would then fail to decode.
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, deflate",
}
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # a crawler of cited pages opens no control port
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    # First: a page captured with the browser, whose own requests come through the rest.
    "crawler.browser.BrowserMiddleware": 40,
    "crawler.middlewares.AddressGuardMiddleware": 60,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,
    # Scrapy's, which decodes every page whole to look for a refresh in its head.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.MetaRefreshMiddleware": 580,
    # Just before RetryMiddleware (550) sees the response, so the retry waits.
    "crawler.middlewares.RetryDelayMiddleware": 555,
    # Scrapy's decompression, with the decoded size capped (crawler/compression.py).
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.compression.HttpCompressionMiddleware": 590,
    # Next to the downloader: sees each response before decompression and redirects.
    "crawler.middlewares.WarcCaptureMiddleware": 950,
}
# Scrapy's HTTP/1.1 handler, keeping each exchange's heads byte for byte for the WARC
# (crawler/wire.py) and noting when each request is sent (crawler/handlers.py).
DOWNLOAD_HANDLERS = {
    "http": "crawler.handlers.TimedHTTPDownloadHandler",
    "https": "crawler.handlers.TimedHTTPDownloadHandler",
}
# Stops (crawler/stops.py): SIGTERM, Ctrl-C, a WARC file that cannot be written. The
# downloader keeps each fetch so that a stop can cancel it; fetches it cut short are
# dropped before the record pipeline.
DOWNLOADER = "crawler.stops.StoppableDownloader"
ITEM_PIPELINES = {"crawler.stops.DropStopped": 100, "crawler.pipelines.RecordPipeline": 300}
# A page's callback yields one item (and its requisites' requests): Scrapy's 100 starts
# 100 asyncio tasks for every response's output, a fifth of the reactor's time here.
CONCURRENT_ITEMS = 4
# A response stays in the scraper until the recorder process has committed its row (and
# its preview is made): Scrapy's 5 MB, meant for pipelines in the reactor's thread, holds
# the crawl to about 20 pages of 250 KB between download and commit, and the downloads
# wait for the recorder's round trips instead of overlapping them.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 32_000_000
EXTENSIONS = {
    "crawler.session.ArchiveSession": 0,
    "crawler.logs.HostWarnings": 0,
    "crawler.stops.Stops": 0,
}
