"""The record pipeline: preview extraction, the capture's metadata record, the capture row."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from archive.capture.preview import Preview, extract_preview, repeated_preview
from archive.capture.record import FetchOutcome, outcome_record
from archive.capture.schema import PreviewRecord
from crawler.items import FetchItem
from crawler.session import ArchiveSession, archive_session

logger = logging.getLogger(__name__)


def preview_of(item: FetchItem) -> Preview | None:
    """The item's preview; None when there is no body or it cannot be read (a page we cannot
    read is data, not a failed run: the capture is kept)."""
    if item.body is None:
        return None
    try:
        return extract_preview(item.body, item.content_type, item.final_url)
    except Exception:
        logger.warning("preview extraction failed for %s", item.final_url, exc_info=True)
        return None


class RecordPipeline:
    """Turns a fetch into a capture: the WARC describes it first, the store records it after.

    The metadata record (resource id, stable id, capture id, the preview) makes
    the WARC self-describing, so ``archive reindex`` can rebuild the row from it;
    the row is committed only after the records are on disk.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        # Extraction is CPU work (a 200-page PDF takes seconds): it runs on its own thread so
        # that the reactor keeps downloading meanwhile. One thread: items keep their order,
        # and lxml parsers are not shared between threads.
        self.extractor = ThreadPool(minthreads=1, maxthreads=1, name="preview-extraction")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordPipeline:
        return cls(crawler)

    def open_spider(self, spider: Any = None) -> None:
        self.extractor.start()

    def close_spider(self, spider: Any = None) -> None:
        self.extractor.stop()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchItem):
            return item
        from twisted.internet import reactor

        session = archive_session(self.crawler)
        final = item.final_hop
        # the capture an identical payload repeats, looked up once for the preview and the row
        revisit_of = (
            session.capture_for_record(final.revisit_of_record)
            if final and final.revisit_of_record
            else None
        )
        preview = None
        if revisit_of and item.body is not None:  # an unchanged page: its preview is known
            with session.store.session() as s:
                preview = repeated_preview(s, revisit_of, item.content_type)
        if preview is None:
            preview = await maybe_deferred_to_future(
                deferToThreadPool(reactor, self.extractor, preview_of, item)
            )
        return self.record(session, item, preview, revisit_of)

    def record(
        self,
        session: ArchiveSession,
        item: FetchItem,
        preview: Preview | None,
        revisit_of: str | None,
    ) -> FetchItem:
        """Write the capture's metadata record, then its row (on the reactor thread)."""
        try:
            session.record(self.outcome(session, item, preview, revisit_of))
        except Exception as exc:
            session.fail(f"could not record {item.requested_url}: {exc!r}")
            raise
        return item

    def outcome(
        self,
        session: ArchiveSession,
        item: FetchItem,
        preview: Preview | None,
        revisit_of: str | None,
    ) -> FetchOutcome:
        """The capture's outcome, once its metadata record is written and flushed."""
        stable_id, capture_id = capture_ids(session, item)
        outcome = fetch_outcome(item, capture_id, revisit_of)
        outcome.preview = preview
        recorded = None if preview is None else recorded_preview(session, outcome, preview)
        record = outcome_record(outcome, stable_id, session.job_id, recorded)
        final = item.final_hop
        session.writer.write_metadata(
            item.final_url or item.requested_url,
            refers_to=final.record_id if final else None,
            date=None,  # WARC-Date is always the wall clock, whatever the crawl clock says
            fields=record.to_json(),
        )
        session.writer.flush()
        return outcome


def capture_ids(session: ArchiveSession, item: FetchItem) -> tuple[str, str]:
    """The resource's stable id and a new capture id for this attempt."""
    from archive.capture.record import new_capture_id
    from archive.store.models import Resource

    with session.store.session() as s:
        resource = s.get(Resource, item.resource_id)
        assert resource is not None
        capture_id = new_capture_id(s, resource, item.started_at, session.config.hashids_salt)
        return resource.stable_id, capture_id


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


def recorded_preview(
    session: ArchiveSession, outcome: FetchOutcome, preview: Preview
) -> PreviewRecord:
    """The preview for the metadata record. An unchanged revisit names the capture
    whose record already holds the same text instead of repeating it: the text can
    be extracted again from the payload that capture refers to."""
    recorded = preview.to_record()
    if outcome.is_revisit and outcome.revisit_of:
        from archive.store.models import Capture

        with session.store.session() as s:
            original = s.get(Capture, outcome.revisit_of)
            if original is not None and original.content_hash == recorded.content_hash:
                return replace(recorded, full_text_preview=None, preview_of=original.capture_id)
    return recorded
