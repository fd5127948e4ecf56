"""``scrapy crawl resources``: fetch the cited pages that are due (or the ones asked for)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import cached_property
from typing import Any

import scrapy
from scrapy import signals
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.rot.selection import Wanted
from crawler.browser import RESULT, browser_request, wants_browser
from crawler.browser_page import PageResult
from crawler.compression import DecodedTooLarge
from crawler.errors import classify
from crawler.items import FetchItem
from crawler.middlewares import HOPS
from crawler.requisites import Requisites
from crawler.session import ArchiveSession, archive_session


class ResourcesSpider(scrapy.Spider):
    """Arguments (``-a name=value``):

    - ``source``: a resource list to import first; its resources are then crawled.
    - ``ids``: comma-separated resource ids / stable ids to crawl.
    - ``url``: one URL to crawl (imported first if new).
    - ``all=1``: every resource, due or not; ``limit``, ``type``, ``host`` narrow it.
    Without ``source``/``ids``/``url``, the resources that are due are crawled.
    """

    name = "resources"

    def __init__(
        self,
        source: str | None = None,
        ids: str | None = None,
        url: str | None = None,
        all: str | None = None,  # noqa: A002 - the flag's name on the command line
        limit: str | None = None,
        type: str | None = None,  # noqa: A002
        host: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._wanted = Wanted.of(source, ids, url, all, limit, type, host)

    @property
    def session(self) -> ArchiveSession:
        return archive_session(self.crawler)

    @cached_property
    def requisites(self) -> Requisites:
        """What the crawl's pages load (``ARCHIVE_REQUISITES``, on by default)."""
        settings = self.settings
        self.crawler.signals.connect(self._idle, signal=signals.spider_idle)
        return Requisites(
            settings.getbool("ARCHIVE_REQUISITES", True),
            settings.getint("ARCHIVE_REQUISITES_MAX", 200),
            settings.getint("ARCHIVE_REQUISITES_MAX_BYTES", 100 * 1024 * 1024),
            callback=self.requisite_fetched,
            errback=self.requisite_failed,
        )

    #: the session has the recorder select this spider's resources as the crawl is made
    #: (archive/rot/selection.py); a spider fed otherwise (the frontier's) says False
    selects_early = True

    def wanted(self) -> Wanted:
        return self._wanted

    async def start(self) -> AsyncIterator[scrapy.Request]:
        try:
            chosen = await self.session.selected()
        except Exception as exc:
            self.session.fail(f"could not select resources: {exc}")
            raise
        for line in chosen.imported:
            self.logger.info(line)
        self.session.expected = len(chosen.chosen)
        self.logger.info("%d resources to capture", len(chosen.chosen))
        # With a JOBDIR, a resumed run re-selects what is still due while the queue on
        # disk holds some of the same requests: the persisted dupefilter drops the copies.
        resumable = bool(self.settings.get("JOBDIR"))
        for resource_id, url in chosen.chosen:
            if resource_id in chosen.in_browser or wants_browser(self.settings, url):
                yield browser_request(self, resource_id, url)
                continue
            yield scrapy.Request(
                url,
                callback=self.parse,
                errback=self.failed,
                dont_filter=not resumable,
                meta={
                    "resource_id": resource_id,
                    HOPS: [],
                },
            )

    def parse(self, response: Response) -> Iterator[FetchItem | scrapy.Request]:
        # The item comes out once what the page loads is fetched (crawler/requisites.py).
        yield from self.requisites.page(self._item(response.request, response=response), response)

    def _idle(self) -> None:
        # Nothing is left to fetch: a page still waiting would never be recorded.
        waiting = self.requisites.pages
        if waiting:
            self.session.fail(f"{len(waiting)} pages never got all their requisites")
            waiting.clear()

    def requisite_fetched(self, response: Response) -> Iterator[FetchItem | scrapy.Request]:
        yield from self.requisites.done(response.request, response=response)

    def requisite_failed(self, failure: Failure) -> Iterator[FetchItem | scrapy.Request]:
        request = failure.request  # type: ignore[attr-defined]
        if isinstance(failure.value, HttpError):
            yield from self.requisites.done(request, response=failure.value.response)
            return
        yield from self.requisites.done(request, error=classify(failure))

    def parse_browser(self, response: Response) -> Iterator[FetchItem]:
        # Everything the page loaded was fetched while it rendered: its item is whole.
        yield self._browser_item(response.request, response)

    def browser_failed(self, failure: Failure) -> Iterator[FetchItem]:
        request = failure.request  # type: ignore[attr-defined]
        if isinstance(failure.value, HttpError):
            yield self._browser_item(request, failure.value.response)
            return
        error_class, message = classify(failure)
        item = self._browser_item(request, None, error_class, message)
        item.body = None
        yield item

    def _browser_item(
        self,
        request: Any,
        response: Response | None,
        error_class: str | None = None,
        error_message: str | None = None,
    ) -> FetchItem:
        item = self._item(request, response, error_class, error_message)
        item.fetch_method = "browser"
        result: PageResult | None = request.meta.get(RESULT)
        if result is not None:
            if result.started_at is not None:  # the page's own exchange, as for any capture
                item.started_at, item.duration_ms = result.started_at, result.duration_ms
            item.requisites = list(result.requisites)
            if result.cut is not None:
                item.requisites_cut, item.requisites_left_out = result.cut, result.left_out
        return item

    def failed(self, failure: Failure) -> Iterator[FetchItem]:
        request = failure.request  # type: ignore[attr-defined]
        if isinstance(failure.value, HttpError):  # a 4xx/5xx answer is an outcome, not an error
            yield self._item(request, response=failure.value.response)
            return
        error_class, message = classify(failure)
        # A body too large to decode was answered and archived: the capture points at it.
        answer = failure.value.response if isinstance(failure.value, DecodedTooLarge) else None
        item = self._item(request, answer, error_class=error_class, error_message=message)
        item.body = None  # never decoded: nothing to extract a preview from
        yield item

    def _item(
        self,
        request: Any,
        response: Response | None = None,
        error_class: str | None = None,
        error_message: str | None = None,
    ) -> FetchItem:
        # ``request`` is the last copy sent: the final redirect hop or retried attempt, whose
        # response record the capture points at (its WARC locator, its WARC-Date, its
        # Memento). The capture is timed by that exchange, so that every time shown for it
        # is its record's; the earlier hops keep their own dates in the redirect chain.
        started_at, duration_ms = self.session.fetch_time(request)
        item = FetchItem(
            resource_id=request.meta["resource_id"],
            requested_url=request.meta.get("redirect_urls", [request.url])[0],
            started_at=started_at,
            duration_ms=duration_ms,
            hops=request.meta.get(HOPS, []),
            final_url=request.url,
            error_class=error_class,
            error_message=error_message,
        )
        if response is not None:
            item.final_url, item.status, item.body = response.url, response.status, response.body
            content_type = response.headers.get(b"Content-Type") or b""
            item.content_type = content_type.decode("latin-1") or None
        return item
