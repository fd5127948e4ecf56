"""Decompression during the crawl, capped: Scrapy's middleware, our cap and our decoders.

Scrapy's HttpCompressionMiddleware undoes a response's Content-Encoding before the spider
sees it, stopping at ``DOWNLOAD_MAXSIZE`` decoded bytes. That setting also bounds what the
download handler accepts (1 GiB here, so that large bodies are archived cut rather than
refused), and a 1 MB gzip body can inflate to that: this one stops at the cap on bodies,
``ARCHIVE_MAX_BODY_SIZE``, instead, and decodes through archive/warc/codings.py, as every
reader of stored payloads does (which also undoes ``br`` where pywb's brotlipy shadows the
Brotli module Scrapy expects).

A body that would decode past the cap is not decoded: its records are already in the WARC
as received (WarcCaptureMiddleware sits nearer the downloader), and the fetch ends in
:class:`DecodedTooLarge`, which the spider records as a ``too-large`` capture without a
preview.
"""

from __future__ import annotations

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import (
    HttpCompressionMiddleware as _ScrapyHttpCompressionMiddleware,
)
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from archive.warc import codings


class DecodedTooLarge(IgnoreRequest):
    """The response's body, its Content-Encoding undone, would pass the cap on bodies.
    ``response`` is the response as received, its body still encoded."""

    def __init__(self, message: str, response: Response) -> None:
        super().__init__(message)
        self.response = response


class HttpCompressionMiddleware(_ScrapyHttpCompressionMiddleware):
    """Scrapy's, with the decoded size capped at ``ARCHIVE_MAX_BODY_SIZE`` (at 1 GiB when
    that is 0: decoding is never uncapped) and our decoders."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler=crawler)
        self._max_size = codings.decoded_cap(crawler.settings.getint("ARCHIVE_MAX_BODY_SIZE"))

    @staticmethod
    def _decode(body: bytes, encoding: bytes, max_size: int) -> bytes:
        return codings.decode(body, [encoding.decode("latin-1")], max_size)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        # ``spider``: only the superclass's signature; Scrapy passes no spider to an
        # argument that is not required.
        try:
            return super().process_response(request, response)
        except codings.DecodedTooLarge as exc:
            coding = b", ".join(response.headers.getlist(b"Content-Encoding")).decode("latin-1")
            raise DecodedTooLarge(
                f"HTTP {response.status} with a {len(response.body)}-byte body "
                f"(Content-Encoding: {coding}): {exc}; archived as received, not decoded",
                response,
            ) from exc
