"""The record pipeline: preview extraction, the capture's metadata record, the capture row."""

from __future__ import annotations

import logging
from concurrent.futures import CancelledError, Future
from dataclasses import replace
from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred

from archive.capture.pool import Bounds, PreviewPool
from archive.capture.preview import Preview, repeated_preview
from archive.capture.record import FetchOutcome, new_capture_id, outcome_record
from archive.capture.schema import PreviewRecord
from archive.store.models import Capture, Resource
from crawler.items import FetchItem
from crawler.session import ArchiveSession, archive_session

logger = logging.getLogger(__name__)

#: crawler stats key: pages whose preview is being extracted
PENDING = "archive/previews_pending"


class _Unknown(Exception):
    """An unchanged page whose earlier preview cannot be reused: it is extracted again."""


class RecordPipeline:
    """Turns a fetch into a capture: the WARC describes it first, the store records it after.

    The preview is extracted in worker processes (``archive.capture.pool``), so the
    reactor keeps downloading meanwhile and every core extracts. The metadata record
    (resource id, stable id, capture id, the preview) makes the WARC self-describing, so
    ``archive reindex`` can rebuild the row from it; it is written, and the row committed
    after it in one transaction, on the session's writer thread. With
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
        unchanged = bool(final and final.revisit_of_record)  # its preview may be known
        preview = None if unchanged else await self.extract(item)
        try:
            try:
                outcome = await self.record(session, item, preview, reuse=unchanged)
            except _Unknown:
                outcome = await self.record(session, item, await self.extract(item), reuse=False)
        except Exception as exc:
            session.fail(f"could not record {item.requested_url}: {exc!r}")
            raise
        session.count(outcome)
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
        written = session.in_writer(self._record, session, item, preview, reuse)
        outcome: FetchOutcome = await maybe_deferred_to_future(written)
        return outcome

    def _record(
        self, session: ArchiveSession, item: FetchItem, preview: Preview | None, reuse: bool
    ) -> FetchOutcome:
        """The metadata record, then the row, in one transaction (on the writer thread)."""
        final = item.final_hop
        with session.store.session() as s:
            revisit_of = (
                s.scalar(
                    select(Capture.capture_id).where(
                        Capture.warc_record_id == final.revisit_of_record
                    )
                )
                if final and final.revisit_of_record
                else None
            )
            if reuse and revisit_of and item.body is not None:
                preview = repeated_preview(s, revisit_of, item.content_type)
                if preview is None and self.previews is not None:
                    raise _Unknown
            outcome = self.describe(s, session, item, preview, revisit_of)
            session.record(s, outcome)
        return outcome

    def describe(
        self,
        s: Session,
        session: ArchiveSession,
        item: FetchItem,
        preview: Preview | None,
        revisit_of: str | None,
    ) -> FetchOutcome:
        """The capture's outcome, once its metadata record is written and flushed."""
        resource = s.get(Resource, item.resource_id)
        assert resource is not None
        capture_id = new_capture_id(s, resource, item.started_at, session.config.hashids_salt)
        outcome = fetch_outcome(item, capture_id, revisit_of)
        outcome.preview = preview
        recorded = None if preview is None else recorded_preview(s, outcome, preview)
        record = outcome_record(outcome, resource.stable_id, session.job_id, recorded)
        final = item.final_hop
        session.writer.write_metadata(
            item.final_url or item.requested_url,
            refers_to=final.record_id if final else None,
            date=None,  # WARC-Date is always the wall clock, whatever the crawl clock says
            fields=record.to_json(),
        )
        session.writer.flush()
        return outcome


def _when_done(future: Future[Any]) -> Deferred[None]:
    """A Deferred that fires on the reactor thread when ``future`` is done."""
    from twisted.internet import reactor

    done: Deferred[None] = Deferred()
    future.add_done_callback(lambda _: reactor.callFromThread(done.callback, None))
    return done


def fetch_outcome(item: FetchItem, capture_id: str, revisit_of: str | None) -> FetchOutcome:
    """What the fetch came to, from the spider's item and the exchange that answered."""
    outcome = FetchOutcome(
        capture_id=capture_id,
        resource_id=item.resource_id,
        requested_url=item.requested_url,
        fetched_at=item.started_at,
        final_url=item.final_url,
        http_status=item.status,
        content_type=item.content_type,
        hops=item.hops,
        error_class=item.error_class,
        error_message=item.error_message,
        duration_ms=item.duration_ms,
        requisites=list(item.requisites),
        requisites_cut=item.requisites_cut,
        requisites_left_out=item.requisites_left_out,
    )
    final = item.final_hop
    if final is not None:
        outcome.answered_by(final)
        if final.revisit_of_record:
            outcome.is_revisit = True
            outcome.revisit_of = revisit_of
    return outcome


def recorded_preview(s: Session, outcome: FetchOutcome, preview: Preview) -> PreviewRecord:
    """The preview for the metadata record. An unchanged revisit names the capture
    whose record already holds the same text instead of repeating it: the text can
    be extracted again from the payload that capture refers to."""
    recorded = preview.to_record()
    if outcome.is_revisit and outcome.revisit_of:
        original = s.get(Capture, outcome.revisit_of)
        if original is not None and original.content_hash == recorded.content_hash:
            return replace(recorded, full_text_preview=None, preview_of=original.capture_id)
    return recorded
