"""The record pipeline: preview extraction, the capture's metadata record, the capture row."""

from __future__ import annotations

import logging
from concurrent.futures import CancelledError, Future
from dataclasses import replace
from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from archive.capture.outcome import FetchOutcome
from archive.capture.pool import Bounds, PreviewPool
from archive.capture.preview import Preview
from crawler.items import FetchItem
from crawler.record_errors import PreviewUnknown
from crawler.session import ArchiveSession, archive_session

logger = logging.getLogger(__name__)

#: crawler stats key: pages whose preview is being extracted
PENDING = "archive/previews_pending"
#: Scrapy signal, sent once a capture is recorded (``item``, ``outcome``): the browser
#: fallback (crawler/browser.py) looks at its preview
capture_recorded = object()


class RecordPipeline:
    """Turns a fetch into a capture: the WARC describes it first, the store records it after.

    The preview is extracted in worker processes (``archive.capture.pool``), so the
    reactor keeps downloading meanwhile and every core extracts. The metadata record
    (resource id, stable id, capture id, the preview) makes the WARC self-describing, so
    ``archive reindex`` can rebuild the row from it; it is written, and the row committed
    after it in one transaction, by the recorder process (``crawler.record_path``). With
    ``ARCHIVE_DEFER_PREVIEWS`` (or a stop while pages wait for theirs) a capture is
    recorded without its preview, which ``archive extract --pending`` makes later.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.previews: PreviewPool | None = None
        self.pending = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordPipeline:
        return cls(crawler)

    def open_spider(self, spider: Any = None) -> None:
        config = archive_session(self.crawler).config
        if not config.defer_previews:
            self.previews = PreviewPool(Bounds.of(config))

    def close_spider(self, spider: Any = None) -> None:
        self.stop_previews()

    def stop_previews(self) -> None:
        """Stop extracting at once: pages still waiting are recorded without a preview."""
        previews, self.previews = self.previews, None
        if previews is not None:
            previews.close(wait=False)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchItem):
            return item
        session = archive_session(self.crawler)
        final = item.final_hop
        # its preview may be known; a browser's is the rendered page's, never the payload's
        unchanged = bool(final and final.revisit_of_record) and item.fetch_method == "scrapy"
        preview = None if unchanged else await self.extract(item)
        try:
            try:
                outcome = await self.record(session, item, preview, reuse=unchanged)
            except PreviewUnknown:
                outcome = await self.record(session, item, await self.extract(item), reuse=False)
        except Exception as exc:
            session.fail(f"could not record {item.requested_url}: {exc!r}")
            raise
        session.count(outcome)
        self.crawler.signals.send_catch_log(capture_recorded, item=item, outcome=outcome)
        return item

    async def extract(self, item: FetchItem) -> Preview | None:
        """The item's preview from a worker; None when it has no body or extraction stopped."""
        previews = self.previews
        if item.body is None or previews is None:
            return None
        future = previews.submit(item.body, item.content_type, item.final_url)
        self._pending(+1)
        try:
            await maybe_deferred_to_future(_when_done(future))
        finally:
            self._pending(-1)
        try:
            return previews.outcome(future, item.final_url)
        except CancelledError:
            return None

    def _pending(self, change: int) -> None:
        self.pending += change
        if self.crawler.stats:
            self.crawler.stats.set_value(PENDING, self.pending)

    async def record(
        self, session: ArchiveSession, item: FetchItem, preview: Preview | None, reuse: bool
    ) -> FetchOutcome:
        # The body stays here: the recorder only needs to know whether there is one.
        sent = replace(item, body=None if item.body is None else b"")
        extracting = self.previews is not None
        written = session.call("record_fetch", sent, preview, reuse, extracting)
        outcome: FetchOutcome = await maybe_deferred_to_future(written)
        return outcome


def _when_done(future: Future[Any]) -> Deferred[None]:
    """A Deferred that fires on the reactor thread when ``future`` is done."""
    from twisted.internet import reactor

    done: Deferred[None] = Deferred()
    future.add_done_callback(lambda _: reactor.callFromThread(done.callback, None))
    return done
