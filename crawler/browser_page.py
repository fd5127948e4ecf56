"""One page in the browser: every request it makes fetched through the crawl's HTTP path.

The page's requests are intercepted (``page.route``) and each one becomes a Scrapy
request downloaded by the engine (``ExecutionEngine.download_async``), so it passes the
same downloader middlewares as every other fetch: the address guard, robots.txt,
retries, the size cap, and the capture middleware, which writes its exchange to the
WARC from the wire as for any page. The answer is handed to the browser with
``route.fulfill``; a refused or failed fetch is aborted there. The page's own redirect
chain is followed hop by hop before the browser is sent to where it ends (Chromium does
not hand a redirect it was given back to the route, it would fetch the next hop itself,
which its dead proxy refuses), so its base URL is where it really is; those exchanges are
the capture's hops. A subresource's redirects are Scrapy's to follow, as for any fetch.
Everything else the page loaded is listed with its outcome, as a page's requisites are.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from twisted.python.failure import Failure

from archive.capture.schema import Requisite
from crawler.errors import classify
from crawler.middlewares import HOPS
from crawler.session import ArchiveSession

logger = logging.getLogger(__name__)

#: request.meta key of a request the browser made (the capture middleware writes it as usual)
BROWSER_LOAD = "archive_browser_load"
#: the browser's request headers the HTTP path sets itself (or must: a browser asks for br)
_OWN_HEADERS = {"host", "content-length", "connection", "accept-encoding", "user-agent", "cookie"}
#: response headers that described the bytes before Scrapy decoded them
_STALE_HEADERS = {b"content-encoding", b"content-length", b"transfer-encoding"}
#: the browser's resource types, as requisite kinds
_KINDS = {"document": "frame", "xhr": "fetch", "eventsource": "fetch", "texttrack": "track"}
#: the network is quiet once no request has been pending for this long
QUIET = 0.4
#: scrolling stops after this many screens
MAX_SCROLLS = 60
_CHARSET = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)


@dataclass
class PageResult:
    """What the browser made of a page: its document's answer, the rendered DOM (encoded
    as the page declared), its screenshot, and what else it loaded."""

    status: int | None = None
    final_url: str | None = None
    content_type: str | None = None
    #: the rendered DOM for an HTML page; the document's body as fetched otherwise
    body: bytes | None = None
    dom: str | None = None
    screenshot: bytes | None = None
    started_at: datetime | None = None
    duration_ms: int | None = None
    requisites: list[Requisite] = field(default_factory=list)
    #: why the document itself could not be fetched
    error: BaseException | None = None
    #: the per-page cap that stopped what the page loads ("count" or "bytes"), and how
    #: many of its requests were refused for it
    cut: str | None = None
    left_out: int = 0


class PageCapture:
    """Loads one page in ``context`` and watches its network until it is quiet."""

    def __init__(
        self,
        crawler: Any,
        session: ArchiveSession,
        request: scrapy.Request,
        timeout: float,
        max_height: int,
    ) -> None:
        self.crawler, self.session, self.request = crawler, session, request
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.max_height = max_height
        self.result = PageResult()
        self.pending = 0
        self.last_activity = time.monotonic()
        #: a GET answered once is answered again from here (routing disables the cache)
        self.answers: dict[str, Response] = {}
        self.loads: dict[str, Requisite] = {}
        self.page: Any = None
        #: where the page's redirects end, once it is fetched; handed to the browser once
        self.document: str | None = None
        self.document_served = False
        self.max_redirects = crawler.settings.getint("REDIRECT_MAX_TIMES", 20)
        # the page requisites' caps hold for what the browser loads, too
        self.max_count = crawler.settings.getint("ARCHIVE_REQUISITES_MAX", 200)
        self.max_bytes = crawler.settings.getint("ARCHIVE_REQUISITES_MAX_BYTES", 100 << 20)
        self.loaded_bytes = 0
        self.started = 0  # fetches started for the page (in flight ones too)

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    async def run(self, context: Any) -> PageResult:
        await self._fetch_document()
        if self.document is None or not _is_html(self.result.content_type):
            return self.result  # a PDF, an image: nothing to render, the fetch is the capture
        page = self.page = await context.new_page()
        try:
            await page.route("**/*", self.route)
            await self._load(page, self.document)
            if self.result.error is None:
                await self._render(page)
        finally:
            await page.close()
        self.result.requisites = list(self.loads.values())
        return self.result

    async def _fetch_document(self) -> None:
        """The page, hop by hop through its redirects: the capture's own exchanges."""
        url = self.request.url
        for _ in range(self.max_redirects + 1):
            request = scrapy.Request(
                url,
                dont_filter=True,
                priority=20,
                meta={
                    BROWSER_LOAD: True,
                    "dont_redirect": True,
                    "resource_id": self.request.meta["resource_id"],
                    HOPS: self.request.meta.setdefault(HOPS, []),
                },
            )
            try:
                response = await self.crawler.engine.download_async(request)
            except Exception as exc:  # noqa: BLE001 - the capture's failure, classified later
                self.result.error = exc
                return
            location = response.headers.get(b"Location")
            if 300 <= response.status < 400 and location:
                url = urljoin(response.url, location.decode("latin-1"))
                continue
            self._answered_document(request, response)
            self.document = response.url
            self.answers[response.url] = response
            return
        self.result.error = IgnoreRequest(f"max redirections ({self.max_redirects}) reached")

    async def _load(self, page: Any, url: str) -> None:
        try:
            await page.goto(url, wait_until="load", timeout=max(self.left(), 0.01) * 1000)
        except Exception as exc:  # noqa: BLE001 - what loaded by now is rendered
            logger.info("%s: not loaded in the browser in %.0f s (%s)", url, self.timeout, exc)

    async def _render(self, page: Any) -> None:
        await self.quiet()
        try:
            await self._scroll(page)
            await self.quiet()
            height = await page.evaluate(
                "() => Math.max(document.documentElement.scrollHeight,"
                " document.body ? document.body.scrollHeight : 0)"
            )
            await page.evaluate("() => window.scrollTo(0, 0)")
            viewport = page.viewport_size or {"width": 1280, "height": 900}
            clip = {"x": 0, "y": 0, "width": viewport["width"], "height": height}
            clip["height"] = max(1, min(int(height or 1), self.max_height))
            self.result.screenshot = await page.screenshot(
                full_page=True, clip=clip, timeout=max(self.left(), 5) * 1000
            )
            self.result.dom = await page.content()
            self.result.body = encoded(self.result.dom, self.result.content_type)
        except Exception as exc:  # noqa: BLE001 - a page that will not render keeps its hops
            logger.warning("%s: the browser could not render it: %s", self.request.url, exc)

    async def _scroll(self, page: Any) -> None:
        """Down a screen at a time to the bottom, so that what loads lazily loads."""
        for _ in range(MAX_SCROLLS):
            if self.left() <= 0:
                return
            at_bottom = await page.evaluate(
                "() => { const before = window.scrollY; window.scrollBy(0, window.innerHeight);"
                " return window.scrollY === before"
                " || window.scrollY + window.innerHeight"
                " >= document.documentElement.scrollHeight; }"
            )
            await self.quiet(QUIET / 4)
            if at_bottom and self.pending == 0:
                return

    async def quiet(self, quiet: float = QUIET) -> None:
        """Until no request has been pending for ``quiet`` seconds, or the time is up."""
        while self.left() > 0:
            idle = time.monotonic() - self.last_activity
            if self.pending == 0 and idle >= quiet:
                return
            await asyncio.sleep(min(0.05, self.left()))

    # -- the page's requests -----------------------------------------------------------

    async def route(self, route: Any) -> None:
        self.pending += 1
        self.last_activity = time.monotonic()
        try:
            await self._answer(route)
        except Exception as exc:  # noqa: BLE001 - a closed page, a stopped crawl
            logger.debug("browser request %s: %s", route.request.url, exc)
        finally:
            self.pending -= 1
            self.last_activity = time.monotonic()

    async def _answer(self, route: Any) -> None:
        browser_request = route.request
        url = browser_request.url
        if not url.startswith(("http://", "https://")):
            await route.abort("blockedbyclient")
            return
        if self.document and _same(url, self.document) and not self.document_served:
            self.document_served = True  # fetched already, with its redirects
            await route.fulfill(**fulfilled(self.answers[self.document]))
            return
        cached = self.answers.get(url) if browser_request.method == "GET" else None
        if cached is not None:
            await route.fulfill(**fulfilled(cached))
            return
        cut = self._cap()
        if cut is not None:
            self.result.cut = self.result.cut or cut
            self.result.left_out += 1
            await route.abort("blockedbyclient")
            return
        request = self._request(browser_request)
        self.started += 1
        try:
            response = await self.crawler.engine.download_async(request)
        except BaseException as exc:
            self._failed(browser_request, request, exc)
            await route.abort("blockedbyclient" if _refused(exc) else "failed")
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        if browser_request.method == "GET":
            self.answers[url] = response
        self.loaded_bytes += sum(hop.payload_length or 0 for hop in request.meta.get(HOPS, []))
        self._answered(browser_request, request, response)
        await route.fulfill(**fulfilled(response))

    def _cap(self) -> str | None:
        """Which per-page cap a further request of the page would pass, if any."""
        if self.started >= self.max_count:
            return "count"
        return "bytes" if self.loaded_bytes >= self.max_bytes else None

    def _request(self, browser_request: Any) -> scrapy.Request:
        headers = {
            name: value
            for name, value in browser_request.headers.items()
            if name.lower() not in _OWN_HEADERS
        }
        return scrapy.Request(
            browser_request.url,
            method=browser_request.method,
            headers=headers,
            body=browser_request.post_data_buffer or b"",
            dont_filter=True,
            priority=20,
            meta={BROWSER_LOAD: True, HOPS: []},
        )

    def _answered_document(self, request: scrapy.Request, response: Response) -> None:
        result = self.result
        result.status, result.final_url = response.status, response.url
        result.content_type = _content_type(response)
        result.body = response.body
        sent = response.request if response.request is not None else request
        result.started_at, result.duration_ms = self.session.fetch_time(sent)

    def _answered(self, browser_request: Any, request: scrapy.Request, response: Response) -> None:
        content_type = _content_type(response)
        self.loads[browser_request.url] = Requisite(
            url=browser_request.url,
            kind=_kind(browser_request.resource_type),
            found_in=self._found_in(browser_request),
            status=response.status,
            content_type=content_type,
            hops=tuple(request.meta.get(HOPS, [])),
        )

    def _found_in(self, browser_request: Any) -> str | None:
        """The frame that asked for it; None for the page itself."""
        try:
            frame = browser_request.frame
        except Exception:  # noqa: BLE001 - a worker's request has no frame
            return None
        return None if frame == self.page.main_frame else frame.url or None

    def _failed(self, browser_request: Any, request: scrapy.Request, exc: BaseException) -> None:
        if isinstance(exc, asyncio.CancelledError):
            error_class, message = "error", "the crawl stopped before this fetch finished"
        else:
            error_class, message = classify(Failure(exc))
        self.loads[browser_request.url] = Requisite(
            url=browser_request.url,
            kind=_kind(browser_request.resource_type),
            found_in=self._found_in(browser_request),
            error_class=error_class,
            error_message=message,
            hops=tuple(request.meta.get(HOPS, [])),
        )


def fulfilled(response: Response) -> dict[str, Any]:
    """``route.fulfill``'s arguments for an answer from the HTTP path: its status, its
    headers but those that described the still-encoded bytes, the decoded body."""
    headers: dict[str, str] = {}
    for name, values in response.headers.items():
        if name.lower() in _STALE_HEADERS:
            continue
        key = name.decode("latin-1")
        joiner = "\n" if name.lower() == b"set-cookie" else ", "
        headers[key] = joiner.join(v.decode("latin-1") for v in values)
    return {"status": response.status, "headers": headers, "body": response.body}


def encoded(dom: str, content_type: str | None) -> bytes:
    """The rendered DOM in the charset its page declared (so the extractor, reading the
    page's Content-Type or ``<meta>``, decodes it right); UTF-8 when none is known."""
    charset = None
    for source in ((content_type or "").encode("latin-1"), dom[:4096].encode("utf-8", "replace")):
        found = _CHARSET.search(source)
        if found:
            charset = found.group(1).decode("ascii")
            break
    try:
        return dom.encode(charset or "utf-8", "xmlcharrefreplace")
    except LookupError:
        return dom.encode("utf-8")


def _same(a: str, b: str) -> bool:
    """Whether two URLs name the same document (as Chromium and Scrapy each write it)."""
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.netloc.lower(), x.path or "/", x.query) == (
        y.scheme,
        y.netloc.lower(),
        y.path or "/",
        y.query,
    )


def _content_type(response: Response) -> str | None:
    return (response.headers.get(b"Content-Type") or b"").decode("latin-1") or None


def _is_html(content_type: str | None) -> bool:
    return "html" in (content_type or "").lower()


def _kind(resource_type: str) -> str:
    return _KINDS.get(resource_type, resource_type)[:16]


def _refused(exc: BaseException) -> bool:
    from scrapy.exceptions import IgnoreRequest

    return isinstance(exc, IgnoreRequest)
