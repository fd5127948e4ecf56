"""Browser capture: pages whose text is written by script, captured with headless Chromium.

A page is captured with the browser when the run asks for it (``archive crawl
--browser``, ``ARCHIVE_BROWSER``), when its host is one of ``ARCHIVE_BROWSER_HOSTS``,
when its resource says ``fetch_method: browser``, and, in the same crawl, when its HTTP
capture turned out to be a script shell (``archive.extract.shell``;
``ARCHIVE_BROWSER_FALLBACK``). Chromium (Debian's, ``ARCHIVE_BROWSER_EXECUTABLE``) is
driven through Playwright's async API on the crawl's own asyncio event loop (Scrapy runs
on Twisted's asyncio reactor): one browser per crawl, launched on the first browser
capture, one page at a time, closed when the spider closes (a stop included).

Why interception and not a recording proxy (pywb's recorder, warcprox) or
scrapy-playwright: every request the page makes is intercepted (``page.route``) and
fetched by the crawl's own HTTP path (``crawler.browser_page``), so its WARC records are
written at the wire by the same capture middleware as every other fetch, with the same
revisits, address guard (after DNS, on every hop, against the address connected to),
robots.txt, retries and size caps, and no TLS interception or second writer is needed.
A proxy would write its own records, re-encrypt HTTPS with a certificate of its own, and
apply none of the crawl's rules; scrapy-playwright lets the browser fetch by itself.
The browser itself never reaches the network: every host name resolves to nothing in it
(``--host-resolver-rules``) and its proxy is a closed port, so what routing cannot see (a
preconnect, a WebSocket) fails instead of slipping past the guard.

The browser adds to the capture a full-page screenshot (a WARC ``resource`` record at
``urn:screenshot:<url>``, PNG, cut at ``ARCHIVE_BROWSER_SCREENSHOT_MAX_HEIGHT``) and the
rendered DOM (``urn:dom:<url>``, the text the preview is extracted from), both
concurrent to the page's response record and listed among the capture's requisites
(kinds ``screenshot`` and ``dom``); the capture's ``fetch_method`` is ``browser``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from importlib.util import find_spec
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future

from archive.capture.outcome import FetchOutcome
from archive.capture.schema import Hop, Requisite
from archive.extract.requisites import DOM, SCREENSHOT
from archive.extract.shell import script_shell
from crawler.browser_page import PageCapture, PageResult
from crawler.items import FetchItem
from crawler.middlewares import HOPS, RENDERED
from crawler.pipelines import capture_recorded
from crawler.session import ArchiveSession, archive_session
from settings.env import host_matches, host_patterns

logger = logging.getLogger(__name__)

#: request.meta key: capture this page with the browser
BROWSER = "archive_browser"
#: request.meta key: what the browser made of it (a PageResult), for the spider
RESULT = "archive_browser_result"
VIEWPORT = {"width": 1280, "height": 900}
_ARGS = [
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
]


def wants_browser(settings: Any, url: str, fetch_method: str | None = None) -> bool:
    """Whether a page is captured with the browser in the first place (not as a fallback)."""
    if fetch_method == "browser" or settings.getbool("ARCHIVE_BROWSER"):
        return True
    patterns = host_patterns(settings.get("ARCHIVE_BROWSER_HOSTS") or "")
    return bool(patterns) and host_matches(urlsplit(url).hostname or "", patterns)


def browser_request(spider: Any, resource_id: str, url: str) -> Request:
    """The request that captures ``url`` with the browser (the spider's callbacks)."""
    return Request(
        url,
        callback=spider.parse_browser,
        errback=spider.browser_failed,
        dont_filter=True,
        meta={
            "resource_id": resource_id,
            HOPS: [],
            BROWSER: True,
            # the browser follows redirects and the page's fetches are retried each
            "dont_retry": True,
            "dont_redirect": True,
        },
    )


class Chromium:
    """The crawl's one browser, launched on first use."""

    def __init__(self, executable: str, user_agent: str) -> None:
        self.executable, self.user_agent = executable, user_agent
        self._playwright: Any = None
        self._browser: Any = None
        self._context: Any = None
        self._lock: asyncio.Lock | None = None

    async def context(self) -> Any:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._browser is not None and not self._browser.is_connected():
                logger.warning("the browser is gone (crashed or killed); starting another")
                await self.close()
            if self._context is None:
                await self._launch()
            return self._context

    async def _launch(self) -> None:
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        args = [*_ARGS, "--no-sandbox"] if os.geteuid() == 0 else list(_ARGS)
        self._browser = await self._playwright.chromium.launch(
            executable_path=self.executable,
            args=args,
            headless=True,
            handle_sigint=False,
            handle_sigterm=False,
            handle_sighup=False,
        )
        self._context = await self._browser.new_context(
            user_agent=self.user_agent,
            viewport=VIEWPORT,
            service_workers="block",  # a worker's fetches would not be routed
            accept_downloads=False,
        )

    async def close(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = self._context = None
        try:
            if browser is not None:
                await browser.close()
        except Exception as exc:  # noqa: BLE001 - gone already: its driver still stops
            logger.debug("closing the browser: %s", exc)
        finally:
            if playwright is not None:
                await playwright.stop()


class BrowserMiddleware:
    """Downloader middleware (first of all): a request marked :data:`BROWSER` is loaded in
    the browser, and answered with the page as rendered; everything the page fetches
    goes through the other middlewares as usual. Also the crawl's fallback to the
    browser for script shells, and the browser's lifecycle."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        executable = settings.get("ARCHIVE_BROWSER_EXECUTABLE") or "/usr/bin/chromium"
        #: whether a browser can be started here at all (else the fallback stays off)
        self.available = os.access(executable, os.X_OK) and find_spec("playwright") is not None
        self.chromium = Chromium(executable, settings.get("USER_AGENT") or "")
        self.timeout = settings.getfloat("ARCHIVE_BROWSER_TIMEOUT", 30.0)
        self.max_height = settings.getint("ARCHIVE_BROWSER_SCREENSHOT_MAX_HEIGHT", 10000)
        self.fallback = settings.getbool("ARCHIVE_BROWSER_FALLBACK", True)
        self.shell_text = settings.getint("ARCHIVE_BROWSER_SHELL_TEXT", 300)
        #: resources captured with the browser in this crawl (once each)
        self.captured: set[str] = set()
        self._pages: asyncio.Semaphore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserMiddleware:
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(middleware.recorded, signal=capture_recorded)
        return middleware

    @property
    def session(self) -> ArchiveSession:
        return archive_session(self.crawler)

    async def spider_closed(self, spider: Any = None) -> None:
        await self.chromium.close()

    # -- browser captures -------------------------------------------------------------

    async def process_request(self, request: Request) -> Response | None:
        if not request.meta.get(BROWSER):
            return None
        self.captured.add(request.meta["resource_id"])
        if not self.available:
            raise BrowserUnavailable(
                f"no browser: {self.chromium.executable} or Playwright is not installed"
            )
        self._pages = self._pages or asyncio.Semaphore(1)
        async with self._pages:
            context = await self.chromium.context()
            capture = PageCapture(
                self.crawler, self.session, request, self.timeout, self.max_height
            )
            result = request.meta[RESULT] = await capture.run(context)
        if result.error is not None:
            raise result.error
        await self._write_renderings(request, result)
        headers = {"Content-Type": result.content_type} if result.content_type else {}
        return Response(
            result.final_url or request.url,
            status=result.status or 200,
            headers=headers,
            body=result.body or b"",
            request=request,
            flags=[RENDERED],
        )

    async def _write_renderings(self, request: Request, result: PageResult) -> None:
        """The screenshot and DOM records, beside the page's response record."""
        hops: list[Hop] = request.meta.get(HOPS, [])
        final = hops[-1] if hops else None
        url = result.final_url or request.url
        made = []
        if result.screenshot:
            made.append((SCREENSHOT, url, result.screenshot, "image/png"))
        if result.dom is not None:
            made.append((DOM, url, result.dom.encode("utf-8"), "text/html; charset=utf-8"))
        for kind, page_url, block, content_type in made:
            target = f"urn:{kind}:{page_url}"
            written = self.session.call(
                "write_resource", target, block, content_type, final.record_id if final else None
            )
            hop = await maybe_deferred_to_future(written)
            result.requisites.append(
                Requisite(url=target, kind=kind, content_type=content_type, hops=(hop,))
            )

    # -- the fallback -----------------------------------------------------------------

    def recorded(self, item: FetchItem, outcome: FetchOutcome) -> None:
        """An HTTP capture is recorded: capture it again with the browser if it is a
        script shell (once per resource and crawl)."""
        if not (self.fallback and self.available) or item.fetch_method != "scrapy":
            return
        status, rid = outcome.http_status or 0, item.resource_id
        html = "html" in (item.content_type or "")
        if not 200 <= status < 300 or not html or rid in self.captured:
            return
        if outcome.preview is None:  # deferred or stopped: its text is not known yet
            return
        why = script_shell(item.body, outcome.preview.full_text, self.shell_text)
        engine, spider = self.crawler.engine, self.crawler.spider
        if why is None or self.session.stopped or engine is None or engine.spider is None:
            return
        self.captured.add(rid)
        logger.info("%s: %s; captured again with the browser", item.requested_url, why)
        self.session.expected += 1
        engine.crawl(browser_request(spider, rid, item.final_url or item.requested_url))


class BrowserUnavailable(Exception):
    """No browser can be started here (``ARCHIVE_BROWSER_EXECUTABLE`` is not a program)."""
