"""The crawl's address guard with private addresses refused, but for one host: the test
site the page itself is on (``ARCHIVE_TEST_GUARD_ALLOWS``), so that what the page asks the
browser for on other private addresses meets the guard as on a public page.

Installed by a test in place of ``crawler.middlewares.AddressGuardMiddleware``
(``-s DOWNLOADER_MIDDLEWARES=...``, with ``tests/`` on the crawl's ``PYTHONPATH``).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.middlewares import AddressGuardMiddleware


class OneHostGuard(AddressGuardMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OneHostGuard:
        return cls(allow_private=False)

    async def process_request(self, request: Request) -> None:
        if urlsplit(request.url).netloc == os.environ["ARCHIVE_TEST_GUARD_ALLOWS"]:
            return
        await super().process_request(request)
