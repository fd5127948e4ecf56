"""Page requisites in a crawl: what each captured page loads, fetched once per crawl
(docs/design.md §10).

A page's item waits here until every requisite it uses has an outcome, then goes on to
the record pipeline with the complete list. So a capture's metadata record and row are
written once, whole, after every record they name is on disk (docs/design.md §1), and
nothing is left to complete when the crawl ends: the crawl ends only when no request is
left, and every requisite request ends in a callback or an errback.

Requisites are fetched as ``scrapy.Request``s through the same downloader middlewares as
pages (address guard, robots.txt, retries, size cap, WARC capture), at a higher priority
so that waiting pages finish first. Each URL is requested once per crawl, however many
pages use it; a page that comes to a stylesheet already fetched also takes what that
stylesheet loads. A page takes at most ``max_count`` requisites, and none more once those
it took reach ``max_bytes``; what is left out is counted on its capture.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.referer import StrictOriginWhenCrossOriginPolicy

from archive.capture.schema import Requisite
from archive.extract.requisites import FRAME, STYLESHEET, Found, css_requisites, html_requisites
from crawler.items import FetchItem
from crawler.middlewares import HOPS

logger = logging.getLogger(__name__)

#: request.meta key: the requisite URL a request fetches (as the tracker knows it).
REQUISITE = "archive_requisite"
#: Requisites of one page in flight at once: enough to keep several hosts busy, few
#: enough that the byte cap stops a runaway page soon after it is reached.
WINDOW = 8
#: What a browser sends for a subresource; the pages' own Accept would ask for HTML.
ACCEPT = "*/*"


@dataclass(eq=False)
class _Fetch:
    """One requisite URL within the crawl."""

    found: Found
    started: bool = False
    outcome: Requisite | None = None
    #: what it loads in turn (a stylesheet's imports and images, a frame's requisites)
    children: list[Found] = field(default_factory=list)
    size: int = 0
    waiting: list[_Page] = field(default_factory=list)


@dataclass(eq=False)
class _Page:
    """A captured page waiting for its requisites."""

    item: FetchItem
    #: url -> (kind, found in), in the order found
    used: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    #: requisites this page may start (another page may start them first)
    queue: deque[str] = field(default_factory=deque)
    pending: set[str] = field(default_factory=set)
    size: int = 0
    full: bool = False
    cut: str | None = None
    left_out: int = 0


def is_html(content_type: str | None) -> bool:
    return "html" in (content_type or "").lower()


def _content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type") or b""
    return value.decode("latin-1") or None


class Requisites:
    """The requisites of the crawl's pages: which are wanted, fetched, and by whom."""

    def __init__(
        self,
        enabled: bool,
        max_count: int,
        max_bytes: int,
        callback: Callable[[Response], Any],
        errback: Callable[[Any], Any],
    ) -> None:
        self.enabled = enabled
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.callback, self.errback = callback, errback
        self.fetches: dict[str, _Fetch] = {}
        self.pages: set[_Page] = set()

    # -- pages ---------------------------------------------------------------------------

    def page(self, item: FetchItem, response: Response) -> Iterator[FetchItem | scrapy.Request]:
        """The page's item, once what it loads is fetched; the requests that fetch it."""
        content_type = _content_type(response)
        if not self.enabled or not 200 <= response.status < 300 or not is_html(content_type):
            yield item
            return
        page = _Page(item)
        self.pages.add(page)
        self._add(page, self._found(response, FRAME, content_type), None)
        yield from self._advance(page)

    def _add(self, page: _Page, found: list[Found], found_in: str | None) -> None:
        own = {page.item.requested_url, page.item.final_url}
        for f in found:
            if f.url in page.used or f.url in own:
                continue
            if page.full or len(page.used) >= self.max_count:
                page.left_out += 1
                page.cut = page.cut or ("bytes" if page.full else "count")
                continue
            page.used[f.url] = (f.kind, found_in)
            fetch = self.fetches.setdefault(f.url, _Fetch(f))
            if fetch.outcome is not None:
                self._take(page, fetch)
                continue
            fetch.waiting.append(page)
            page.pending.add(f.url)
            if not fetch.started:
                page.queue.append(f.url)

    def _take(self, page: _Page, fetch: _Fetch) -> None:
        """A fetched requisite joins the page: its bytes, and what it loads."""
        page.size += fetch.size
        if page.size >= self.max_bytes and not page.full:
            page.full = True
            self._drop_unstarted(page)
        self._add(page, fetch.children, fetch.found.url)

    def _drop_unstarted(self, page: _Page) -> None:
        """Past the byte cap: what the page has not started yet is left out."""
        while page.queue:
            url = page.queue.popleft()
            fetch = self.fetches.get(url)
            if fetch is None or fetch.started or url not in page.pending:
                continue
            page.pending.discard(url)
            del page.used[url]
            page.left_out += 1
            page.cut = page.cut or "bytes"
            fetch.waiting.remove(page)
            if not fetch.waiting:  # no page wants it any more; a later one may ask again
                del self.fetches[url]

    def _advance(self, page: _Page) -> Iterator[FetchItem | scrapy.Request]:
        """Start what the page may start, or hand the page on once nothing is pending."""
        in_flight = sum(1 for url in page.pending if self.fetches[url].started)
        while page.queue and in_flight < WINDOW:
            fetch = self.fetches.get(page.queue.popleft())
            if fetch is None or fetch.started or fetch.outcome is not None:
                continue
            fetch.started = True
            in_flight += 1
            yield self._request(page, fetch)
        if not page.pending:
            self.pages.discard(page)
            yield self._finished(page)

    def _request(self, page: _Page, fetch: _Fetch) -> scrapy.Request:
        url = fetch.found.url
        source = page.used[url][1] or page.item.final_url or page.item.requested_url
        headers = {"Accept": ACCEPT}
        # What a browser sends by default (the spider's Referer middleware would name the
        # response whose callback happens to start this request).
        referrer = StrictOriginWhenCrossOriginPolicy().referrer(source, url)
        if referrer:
            headers["Referer"] = referrer
        return scrapy.Request(
            url,
            callback=self.callback,
            errback=self.errback,
            headers=headers,
            dont_filter=True,  # fetched once per crawl by the tracker's own account
            priority=10,
            meta={REQUISITE: url, HOPS: []},
        )

    def _finished(self, page: _Page) -> FetchItem:
        item = page.item
        item.requisites = []
        for url, (kind, found_in) in page.used.items():
            outcome = self.fetches[url].outcome
            assert outcome is not None
            item.requisites.append(replace(outcome, url=url, kind=kind, found_in=found_in))
        if page.cut is not None:
            item.requisites_cut, item.requisites_left_out = page.cut, page.left_out
        return item

    # -- requisites ----------------------------------------------------------------------

    def done(
        self,
        request: Any,
        response: Response | None = None,
        error: tuple[str, str] | None = None,
    ) -> Iterator[FetchItem | scrapy.Request]:
        """A requisite's outcome: each page waiting for it takes it and moves on."""
        fetch = self.fetches.get(request.meta.get(REQUISITE, ""))
        if fetch is None or fetch.outcome is not None:
            return  # a request resumed from a JOBDIR queue, for a page of an earlier run
        hops = tuple(request.meta.get(HOPS, []))
        fetch.outcome = Requisite(url=fetch.found.url, kind=fetch.found.kind, hops=hops)
        if response is not None:
            fetch.outcome = replace(
                fetch.outcome, status=response.status, content_type=_content_type(response)
            )
            fetch.children = self._found(response, fetch.found.kind, _content_type(response))
        elif error is not None:
            fetch.outcome = replace(fetch.outcome, error_class=error[0], error_message=error[1])
        fetch.size = sum(hop.payload_length or 0 for hop in hops)
        waiting, fetch.waiting = fetch.waiting, []
        for page in waiting:
            page.pending.discard(fetch.found.url)
            self._take(page, fetch)
            yield from self._advance(page)

    def _found(self, response: Response, kind: str, content_type: str | None) -> list[Found]:
        """What a page, a fetched stylesheet or a frame loads. One level of frames: a
        page's frames are looked into, their own frames are not. A body that cannot be
        read loads nothing (and the page is still recorded)."""
        if not 200 <= response.status < 300:
            return []
        try:
            if "css" in (content_type or "").lower() or (
                kind == STYLESHEET and not is_html(content_type)
            ):
                return css_requisites(response.body, response.url, content_type)
            if kind == FRAME and is_html(content_type):
                frames = REQUISITE not in response.meta  # the page itself
                return html_requisites(response.body, response.url, content_type, frames)
        except Exception:
            logger.warning("could not read what %s loads", response.url, exc_info=True)
        return []
