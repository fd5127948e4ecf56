"""Previews made after their captures: ``archive extract --pending``.

A crawl with ``--defer-previews`` (or one stopped while pages waited for their preview)
records captures without one. Here each such capture's payload is read back from the WARC,
extracted in the same bounded worker processes as a crawl uses, and its preview written as
a metadata record of its own (a ``LatePreview``, referring to the capture's response) before
the row gets it: the WARC stays the source of truth, and ``archive reindex`` finds it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import func, select

from archive.capture.pool import Bounds, PreviewPool, no_preview
from archive.capture.preview import Preview
from archive.capture.record import apply_preview
from archive.capture.schema import LatePreview
from archive.inspect.payload import NoPayload, capture_payload
from archive.store.db import Store
from archive.store.models import Capture
from archive.warc import WarcWriter
from archive.warc.records import software
from archive.warc.stored import READ_ERRORS

#: A capture waits for its preview while it has a payload but no extractor has seen it.
PENDING = (
    Capture.extractor.is_(None),
    Capture.warc_record_id.is_not(None),
    Capture.payload_length > 0,
)


#: why a payload cannot be read back (Undecodable is one of READ_ERRORS)
_UNREADABLE: tuple[type[Exception], ...] = (NoPayload, *READ_ERRORS)


def pending_count(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(Capture).where(*PENDING)) or 0


@dataclass
class PendingCounts:
    done: int = 0
    #: of those, how many got no text (extraction gave up, or the payload was unreadable)
    without_text: int = 0


class _Job:
    def __init__(self, store: Store) -> None:
        config = store.config
        self.store = store
        self.pool = PreviewPool(Bounds.of(config))
        self.writer = WarcWriter(
            config.warc_dir,
            prefix=config.warc_prefix,
            max_size=config.warc_max_size,
            gzip_level=config.warc_gzip_level,
            info={
                "software": software(),
                "operator": config.operator,
                "description": "Previews of earlier captures",
            },
        )
        self.counts = PendingCounts()

    def submit(self, capture_id: str) -> Future[Preview] | Preview:
        """Hand the capture's payload to a worker; a payload that cannot be read is a
        preview at once, saying so."""
        with self.store.session() as s:
            capture = s.get(Capture, capture_id)
            assert capture is not None
            try:
                body = capture_payload(s, self.store.config.warc_dir, capture)
            except _UNREADABLE as exc:
                return no_preview(f"payload unreadable: {type(exc).__name__}")
            return self.pool.submit(body, capture.content_type, capture.final_url)

    def finish(self, capture_id: str, pending: Future[Preview] | Preview) -> None:
        """Write the preview's record, then give the row its preview."""
        with self.store.session() as s:
            capture = s.get(Capture, capture_id)
            assert capture is not None
            url = capture.final_url or capture.requested_url
            preview = pending if isinstance(pending, Preview) else self.pool.outcome(pending, url)
            late = LatePreview(capture_id, capture.resource_id, preview.to_record())
            self.writer.write_metadata(
                url, refers_to=capture.warc_record_id, date=None, fields=late.to_json()
            )
            self.writer.flush()
            apply_preview(s, capture, preview)
        self.counts.done += 1
        self.counts.without_text += not preview.full_text

    def close(self) -> None:
        self.pool.close(wait=False)
        self.writer.close()


def extract_pending(
    store: Store, limit: int | None = None, progress: Callable[[int, int], None] | None = None
) -> PendingCounts:
    """Make the previews of up to ``limit`` pending captures, oldest first; ``progress(done,
    total)`` after each. Keeps every worker busy, and a few pages ahead of them."""
    with store.session() as s:
        query = select(Capture.capture_id).where(*PENDING).order_by(Capture.fetched_at)
        ids = list(s.scalars(query.limit(limit) if limit else query))
    job = _Job(store)
    ahead = 2 * job.pool.bounds.workers
    waiting: deque[tuple[str, Future[Preview] | Preview]] = deque()

    def finish_oldest() -> None:
        job.finish(*waiting.popleft())
        if progress:
            progress(job.counts.done, len(ids))

    try:
        for capture_id in ids:
            waiting.append((capture_id, job.submit(capture_id)))
            if len(waiting) > ahead:
                finish_oldest()
        while waiting:
            finish_oldest()
    finally:
        job.close()
    return job.counts
