"""Downloader middlewares: the address guard, Retry-After, and WARC capture at the wire."""

from __future__ import annotations

import ipaddress
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import (
    MetaRefreshMiddleware as _ScrapyMetaRefreshMiddleware,
)
from scrapy.downloadermiddlewares.robotstxt import (
    RobotsTxtMiddleware as _ScrapyRobotsTxtMiddleware,
)
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import HtmlResponse, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.session import ArchiveSession, archive_session
from crawler.wire import wire_heads

logger = logging.getLogger(__name__)

#: request.meta key: the list of hops (one per HTTP exchange) of a capture, shared by the
#: redirected and retried copies of its request (Scrapy copies meta shallowly).
HOPS = "archive_hops"
#: Response flag of a page as the browser rendered it (crawler/browser.py): no exchange
#: of the wire, so not written (the browser's own requests each were)
RENDERED = "archive-rendered"


class PrivateAddressRefused(IgnoreRequest):
    """The target resolves to a loopback, private, link-local or reserved address."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class AddressGuardMiddleware:
    """Refuses requests to non-public addresses unless ``ARCHIVE_ALLOW_PRIVATE``.

    Checked after DNS resolution (through Scrapy's own caching resolver, so the
    download connects to the address we checked) and again for every redirect hop,
    since each hop is a new request passing through here. The capture middleware
    checks the address actually connected to as well (DNS rebinding).
    """

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(crawler.settings.getbool("ARCHIVE_ALLOW_PRIVATE"))

    async def process_request(self, request: Request) -> None:
        if self.allow_private:
            return
        host = urlsplit(request.url).hostname or ""
        try:
            address = str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            from twisted.internet import (
                reactor,
            )  # never at import: Scrapy installs its reactor first

            try:
                address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - let the download report the DNS failure
                return
        if not is_public(address):
            raise PrivateAddressRefused(f"{host} resolves to non-public address {address}")


class RetryDelayMiddleware:
    """Spaces out Scrapy's retries: exponential backoff, or what ``Retry-After`` asks.

    Scrapy's RetryMiddleware (550) retries at once. This one (555) sees the response
    or exception just before it and waits first: ``ARCHIVE_RETRY_BACKOFF`` seconds,
    doubled per attempt, or a 429/503's ``Retry-After`` (up to
    ``ARCHIVE_RETRY_AFTER_MAX``; a longer wait is not retried in this run, the
    schedule's backoff comes back later). The wait holds only this request's slot.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.base = settings.getfloat("ARCHIVE_RETRY_BACKOFF", 2.0)
        self.max_wait = settings.getfloat("ARCHIVE_RETRY_AFTER_MAX", 120)
        self.max_retries = settings.getint("RETRY_TIMES")
        self.codes = set(settings.getlist("RETRY_HTTP_CODES"))
        self.enabled = settings.getbool("RETRY_ENABLED")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryDelayMiddleware:
        return cls(crawler)

    def _will_retry(self, request: Request) -> bool:
        retries = request.meta.get("retry_times", 0)
        limit = request.meta.get("max_retry_times", self.max_retries)
        return self.enabled and not request.meta.get("dont_retry") and retries < limit

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in self.codes or not self._will_retry(request):
            return response
        wait = retry_wait(
            response.status,
            response.headers.get(b"Retry-After"),
            request.meta.get("retry_times", 0),
            self.base,
            self.max_wait,
        )
        if wait is None:
            request.meta["dont_retry"] = True
            return response
        await _sleep(wait)
        return response

    async def process_exception(self, request: Request, exception: Exception) -> None:
        if self._will_retry(request) and not isinstance(exception, IgnoreRequest):
            retries = request.meta.get("retry_times", 0)
            await _sleep(retry_backoff(retries, self.base, self.max_wait))


def retry_backoff(retries: int, base: float, max_wait: float) -> float:
    """Seconds before the next retry after ``retries`` earlier ones: ``base``, doubled
    for each, never more than ``max_wait``."""
    return min(base * 2**retries, max_wait)


def retry_wait(
    status: int, retry_after: bytes | None, retries: int, base: float, max_wait: float
) -> float | None:
    """Seconds to wait before retrying a response with ``status``: the backoff, or longer
    when a 429/503 asks so in ``Retry-After``; None when it asks for more than
    ``max_wait``, which is not retried in this run."""
    wait = retry_backoff(retries, base, max_wait)
    if status in (429, 503):
        asked = retry_after_seconds(retry_after)
        if asked is not None and asked > max_wait:
            return None
        wait = max(wait, asked or 0)
    return wait


async def _sleep(seconds: float) -> None:
    if seconds <= 0:
        return
    from twisted.internet import reactor  # never at import: Scrapy installs its reactor first
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


def retry_after_seconds(value: bytes | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (RFC 9110 §10.2.3: a number of seconds, or an
    HTTP date, counted from ``now``; a past date is 0); None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" (RFC 5322: a UTC time of unknown zone) parses naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


class WarcCaptureMiddleware:
    """Writes every HTTP exchange to the WARC exactly as it crossed the wire.

    It sits next to the downloader (order 950), so it sees each response before
    decompression, redirects and retries act on it: every hop and every retried
    attempt is archived with its real status, headers and still-encoded body. The
    heads stored are the bytes sent and received (crawler/wire.py).
    Bodies over ``ARCHIVE_MAX_BODY_SIZE`` are stopped there and stored with
    ``WARC-Truncated: length``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_body = crawler.settings.getint("ARCHIVE_MAX_BODY_SIZE")
        self.allow_private = crawler.settings.getbool("ARCHIVE_ALLOW_PRIVATE")
        self._received: dict[int, int] = {}
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        return cls(crawler)

    @property
    def session(self) -> ArchiveSession:
        return archive_session(self.crawler)

    def bytes_received(self, data: bytes, request: Request, spider: Any) -> None:
        total = self._received.get(id(request), 0) + len(data)
        self._received[id(request)] = total
        if self.max_body and total > self.max_body:
            raise StopDownload(fail=False)

    async def process_response(self, request: Request, response: Response) -> Response:
        self._received.pop(id(request), None)
        if RENDERED in response.flags:
            return response
        body = response.body
        truncated = None
        if "download_stopped" in response.flags and self.max_body and len(body) >= self.max_body:
            body, truncated = body[: self.max_body], "length"
        ip = str(response.ip_address) if response.ip_address else None
        if ip and not self.allow_private and not is_public(ip):
            raise PrivateAddressRefused(f"{request.url} connected to non-public address {ip}")
        session = self.session
        # The records are dated when the request was sent (the handler's reading), as the
        # capture's fetched_at is, not when the answer came in.
        exchange = session.exchanges.get(request)
        date = exchange.sent.wall if exchange else datetime.now(UTC)
        # The heads as they crossed the wire when our handler fetched it; the parsed
        # headers otherwise (another download handler), which re-case and regroup them.
        wire = wire_heads(response)
        exchange_fields = {
            "url": request.url,
            "method": request.method,
            "request_headers": _header_pairs(request.headers),
            "request_body": request.body,
            "protocol": response.protocol or "HTTP/1.1",
            "status": response.status,
            "response_headers": _header_pairs(response.headers),
            "response_body": body,
            "ip_address": ip,
            "date": date,
            "truncated": truncated,
            "request_head": wire.request if wire else None,
            "response_head": wire.response if wire else None,
        }
        resource_id = request.meta.get("resource_id")
        location = (response.headers.get(b"Location") or b"").decode("latin-1") or None
        hop = await maybe_deferred_to_future(
            session.call("write_exchange", exchange_fields, resource_id, location)
        )
        request.meta.setdefault(HOPS, []).append(hop)
        # Downstream (decompression, extraction) sees exactly the bytes the WARC holds.
        return response.replace(body=body) if truncated else response


class RobotsTxtMiddleware(_ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, fixed for requests that wait together.

    While robots.txt is being fetched, every request to that host awaits one
    shared Deferred; only the first awaiter receives the parser, the others get
    None and are let through unchecked (seen with Scrapy 2.19: a disallowed path
    fetched when a dozen requests start at once). Once the Deferred has fired the
    parser is in ``_parsers``, so read it from there.
    """

    async def robot_parser(self, request: Request) -> Any:
        parser = await super().robot_parser(request)
        if parser is None:
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if stored is not None and not isinstance(stored, Deferred):
                return stored
        return parser


#: the bytes that hold the first 4,096 characters Scrapy looks in, in any encoding
_REFRESH_SCAN = 4 * 4096
_REFRESH = re.compile(rb"refresh", re.IGNORECASE)


class MetaRefreshMiddleware(_ScrapyMetaRefreshMiddleware):
    """Scrapy's, without decoding the whole page to read its first 4,096 characters (a
    quarter of a millisecond a page of 250 KB) when those cannot name a refresh: in an
    encoding where ASCII letters are ASCII bytes (any without NUL bytes in the head, which
    UTF-16 and UTF-32 put in every ASCII character), the word is then not in the bytes."""

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        if isinstance(response, HtmlResponse):
            head = response.body[:_REFRESH_SCAN]
            if b"\0" not in head and not _REFRESH.search(head):
                return response
        return super().process_response(request, response)
