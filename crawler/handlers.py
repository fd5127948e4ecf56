"""The download handler: the wire-true HTTP/1.1 handler, timing each exchange where it is sent.

A capture's time is when its request went out. Downloader middlewares cannot see that
moment: they run before a request waits in its host's slot (``DOWNLOAD_DELAY``,
per-host concurrency), which on a long crawl is minutes or hours, and Scrapy signals
nothing when the slot lets it go. The handler is where it leaves, so it reads the
crawl's clocks there (docs/design.md §5: one WARC-Date per exchange).
"""

from __future__ import annotations

import time

from scrapy.http import Request, Response

from crawler.session import Exchange, archive_session
from crawler.wire import WireHTTPDownloadHandler


class TimedHTTPDownloadHandler(WireHTTPDownloadHandler):
    """Records each request's :class:`~crawler.session.Exchange` in the crawl's session:
    the moment it is sent (both clocks) and, once answered or failed, how long it took."""

    async def download_request(self, request: Request) -> Response:
        session = archive_session(self._crawler)
        exchange = Exchange(session.clock.reading())
        session.exchanges[request] = exchange
        try:
            return await super().download_request(request)
        finally:
            elapsed = time.monotonic() - exchange.sent.monotonic
            exchange.duration_ms = int(elapsed * 1000)
