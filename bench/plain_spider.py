"""Plain Scrapy, the floor under `archive crawl`: fetches a list of URLs and only counts
the bodies. Run by bench/crawl.py as ``scrapy runspider bench/plain_spider.py -a urls=FILE``
with the crawl's settings given by ``-s``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.http import Response


class PlainSpider(scrapy.Spider):
    name = "plain"

    def __init__(self, urls: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.pages = self.body_bytes = 0

    async def start(self) -> AsyncIterator[scrapy.Request]:
        with open(self.urls) as listing:
            for line in listing:
                if line.strip():
                    yield scrapy.Request(line.strip(), dont_filter=True)

    def parse(self, response: Response) -> None:
        self.pages += 1
        self.body_bytes += len(response.body)

    def closed(self, reason: str) -> None:
        print(f"plain: {self.pages} pages, {self.body_bytes} bytes, {reason}", flush=True)
