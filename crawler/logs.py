"""One warning line per unreachable host, instead of a traceback per request.

A registry with dozens of dead domains would otherwise bury the progress lines: for
each host Scrapy logs its robots.txt failure at ERROR with a ~60-line traceback, then
"Gave up retrying" once per page. Each page's outcome is on its capture (and on its
progress line) already; the log needs to say only once that a host could not be
reached, and why. ``ARCHIVE_LOG_TRACEBACKS`` (``archive crawl -v``) keeps Scrapy's own
lines.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler

#: The Scrapy loggers that report a failing request, and what their messages name.
NOISY = ("scrapy.downloadermiddlewares.robotstxt", "scrapy.downloadermiddlewares.retry")


def _host_of(record: logging.LogRecord) -> str | None:
    args = record.args if isinstance(record.args, dict) else {}
    request = args.get("request")
    url = getattr(request, "url", None)
    return urlsplit(url).hostname if isinstance(url, str) else None


def _reason(record: logging.LogRecord) -> str:
    args = record.args if isinstance(record.args, dict) else {}
    reason = args.get("f_exception") or args.get("reason")
    if reason is None and record.exc_info and record.exc_info[1] is not None:
        reason = record.exc_info[1]
    text = str(getattr(reason, "value", reason) or record.getMessage())
    return " ".join(text.split())


class OneLinePerHost(logging.Filter):
    """Lets through the first failure of each host, as one line; drops the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.warned: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        host = _host_of(record)
        if host is None or record.levelno < logging.WARNING:
            return True
        if host in self.warned:
            return False
        self.warned.add(host)
        record.msg = "%s: %s (first failure on this host; each page's outcome is on its capture)"
        record.args = (host, _reason(record))
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return True


class HostWarnings:
    """Scrapy extension: installs :class:`OneLinePerHost` for the crawl's lifetime."""

    def __init__(self) -> None:
        self.filter = OneLinePerHost()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostWarnings:
        ext = cls()
        if not crawler.settings.getbool("ARCHIVE_LOG_TRACEBACKS"):
            crawler.signals.connect(ext.install, signal=signals.engine_started)
            crawler.signals.connect(ext.remove, signal=signals.engine_stopped)
        return ext

    def install(self, *_: Any) -> None:
        for name in NOISY:
            logging.getLogger(name).addFilter(self.filter)

    def remove(self, *_: Any) -> None:
        for name in NOISY:
            logging.getLogger(name).removeFilter(self.filter)
