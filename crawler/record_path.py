"""The record path: what the crawl writes to the WARC files and the store, in that order.

One :class:`RecordPath` lives in the recorder process (``crawler.recorder``) for the
whole crawl: it owns the WARC writer and its own connection to the store, so the
reactor's process spends no time in zlib, warcio or SQLAlchemy. It writes each HTTP
exchange (a revisit when its payload repeats the last capture of its URL), then each
capture's metadata record, and its row only after that record is written.

Rows are committed in groups (:meth:`RecordPath.commit`, which the recorder calls when
no call is waiting, or after a bounded number of captures): one transaction for the
captures recorded meanwhile, after their records are flushed to disk, instead of a
transaction each. The group's rows wait in the session (it never autoflushes) and go to
the store in one flush, a statement a table instead of a flush and a savepoint a row. If
the store refuses it, the group is stored again one capture at a time, each in a
savepoint, so a capture that fails leaves the others.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from archive.capture.preview import Preview, repeated_preview
from archive.capture.record import (
    FetchOutcome,
    new_capture_id,
    outcome_record,
    record_capture,
)
from archive.capture.schema import Hop, PreviewRecord
from archive.crawl.opening import Opening
from archive.rot.selection import Selection, Wanted, select_resources
from archive.store.db import Store
from archive.store.jobs import finish_job, start_job
from archive.store.models import Capture, Resource
from archive.warc import RevisitTarget, WarcWriter, repair_open_files
from archive.warc.files import safe_host
from archive.warc.records import software
from crawler.items import FetchItem
from crawler.record_errors import PreviewUnknown, WriteFailed
from crawler.revisits import revisit_target

logger = logging.getLogger(__name__)


class RecordPath:
    def __init__(self, opening: Opening) -> None:
        """Open the store (made or migrated first: the crawl's process never opens it),
        repair the WARC files an interrupted crawl left open, make the crawl's job row
        and open the WARC writer."""
        config = self.config = opening.config
        self.store = Store(config)
        for report in repair_open_files(config.warc_dir):
            logger.warning("repaired WARC left open by an interrupted crawl: %s", report)
        # a worker of a shared crawl holds only its own lock: the others' jobs are theirs
        shared = bool(config.frontier_url)
        self.job_id = start_job(
            self.store, opening.job, opening.started_at, shared=shared, pid=opening.pid
        )
        self.writer = WarcWriter(
            config.warc_dir,
            prefix=config.warc_prefix,
            max_size=config.warc_max_size,
            gzip_level=config.warc_gzip_level,
            info=_warcinfo(opening),
            hostname=_worker_host(config.worker) if shared else None,
        )
        #: set by the first write that fails: every later one is refused with it
        self.refused: str | None = None
        # The crawl's one session, a transaction a group of captures. No autoflush: the
        # group's rows stay pending until the commit flushes them together; the queries
        # meanwhile look at the pending ones where it matters (a capture id taken, the
        # previous text of a resource).
        self._s = self.store.sessions(autoflush=False)
        #: whether the group's transaction is begun
        self._open = False
        #: the crawl's resources, loaded together as the recorder selects them: a query a
        #: page less. Held here, as the session's identity map holds its objects weakly.
        self._resources: dict[str, Resource] = {}
        #: the captures of that transaction, their rows pending in its session
        self._held: list[FetchOutcome] = []

    def finish_job(
        self, status: str, message: str | None, counts: dict[str, int], at: datetime
    ) -> None:
        """Close the crawl's job row, committed at once (the recorder committed the held
        captures first). In the group's transaction: on SQLite it holds the write lock."""
        finish_job(self._session(), self.job_id, status, message, counts, at)
        self.commit()

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self.writer.close()
            self._s.close()
            self.store.close()

    def _session(self) -> Session:
        """The session, its group transaction begun if none is."""
        if not self._open:
            self._begin(self._s)
            self._open = True
        return self._s

    @staticmethod
    def _begin(s: Session) -> None:
        if s.get_bind().dialect.name == "sqlite":
            # The write lock at once, and a real BEGIN for the savepoints to nest in:
            # Python's sqlite3 only begins before a write, and a SAVEPOINT outside a
            # transaction would commit at its release.
            s.connection().exec_driver_sql("BEGIN IMMEDIATE")

    def commit(self) -> dict[str, Exception]:
        """Commit the rows recorded since the last commit, once their records are on disk;
        the captures the store refused, by capture id (the others are committed)."""
        if not self._open:
            return {}
        s, self._open = self._s, False
        held, self._held = self._held, []
        try:
            if self.refused is None:
                self.writer.flush()
            try:
                s.commit()
                return {}
            except SQLAlchemyError:
                s.rollback()
            failed = self._store_each(s, held)
            s.commit()
            return failed
        except BaseException:
            s.rollback()  # the next group begins afresh
            raise

    def _store(self, s: Session, outcome: FetchOutcome) -> None:
        """The capture's row, pending in ``s``, and its resource's link state."""
        record_capture(
            s,
            outcome,
            refresh_days=self.config.refresh_days,
            refresh_by_type=self.config.refresh_by_type,
            now=outcome.fetched_at,
            flush=False,
        )

    def _store_each(self, s: Session, held: list[FetchOutcome]) -> dict[str, Exception]:
        """Store the group again (its transaction rolled back) one capture at a time, each
        in a savepoint: the captures that still fail, by capture id."""
        self._begin(s)
        failed: dict[str, Exception] = {}
        for outcome in held:
            try:
                with s.begin_nested():
                    self._store(s, outcome)
            except SQLAlchemyError as exc:
                failed[outcome.capture_id] = exc
        return failed

    def _replay(self) -> None:
        """After a capture failed halfway into the session: the group's transaction rolled
        back, and the captures recorded before it pending again."""
        s = self._session()
        s.rollback()
        self._begin(s)
        for outcome in self._held:
            self._store(s, outcome)

    def guarded(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)``, unless writes are refused. The first that fails with an OSError
        refuses all later ones, and says which file could not be written, and why."""
        if self.refused is not None:
            raise WriteFailed(self.refused)
        name = self.writer.current_filename
        try:
            return fn(*args)
        except OSError as exc:
            what = f"WARC files in {self.config.warc_dir}"
            if exc.filename:
                what = f"WARC file {exc.filename}"
            elif name:
                what = f"WARC file {self.config.warc_dir / name}"
            self.refused = f"cannot write {what}: {exc.strerror or exc}"
            raise WriteFailed(self.refused) from exc

    def select(self, wanted: Wanted, now: datetime) -> Selection:
        """The crawl's resources (archive/rot/selection.py), its lists imported first."""
        try:
            selection = select_resources(self.store, wanted, now)
        except OSError as exc:  # a list that cannot be read: not a write that failed
            raise ValueError(f"cannot read {exc.filename or 'the list'}: {exc.strerror}") from exc
        ids = [resource_id for resource_id, _ in selection.chosen]
        s = self._session()
        for start in range(0, len(ids), 500):  # below any database's bound on parameters
            found = s.scalars(
                select(Resource).where(Resource.resource_id.in_(ids[start : start + 500]))
            )
            self._resources.update((r.resource_id, r) for r in found)
        return selection

    # -- exchanges ---------------------------------------------------------------------

    def write_exchange(
        self, fields: dict[str, Any], resource_id: str | None, location: str | None
    ) -> Hop:
        """Write one exchange: a revisit if its payload repeats the last capture of its URL."""
        url, status, body = fields["url"], fields["status"], fields["response_body"]
        target = self.revisit_target(url, resource_id) if 200 <= status < 300 else None
        result = self.writer.write_exchange(**fields, revisit_of=target)
        written = result.response
        return Hop(
            url=url,
            status=status,
            location=location,
            record_id=written.record_id,
            warc_date=written.warc_date,
            warc_file=written.locator.filename,
            offset=written.locator.offset,
            length=written.locator.length,
            payload_digest=result.payload_digest,
            payload_length=len(body),
            revisit_of_record=target.record_id if result.revisit and target else None,
            truncated=bool(fields["truncated"]),
        )

    def write_resource(
        self, target_uri: str, block: bytes, content_type: str, concurrent_to: str | None
    ) -> Hop:
        """Write a ``resource`` record (a browser capture's screenshot or DOM snapshot),
        beside the page's response record ``concurrent_to``; where it went, as a hop."""
        written = self.writer.write_resource(
            target_uri, block, content_type, concurrent_to=concurrent_to
        )
        return Hop(
            url=target_uri,
            record_id=written.record_id,
            warc_date=written.warc_date,
            warc_file=written.locator.filename,
            offset=written.locator.offset,
            length=written.locator.length,
            payload_digest=written.payload_digest,
            payload_length=len(block),
        )

    def revisit_target(self, url: str, resource_id: str | None) -> RevisitTarget | None:
        """The latest full capture of ``url`` a new identical payload can refer to."""
        return revisit_target(self._session(), url, resource_id)

    # -- captures ----------------------------------------------------------------------

    def record_fetch(
        self, item: FetchItem, preview: Preview | None, reuse: bool, extracting: bool
    ) -> FetchOutcome:
        """The capture's metadata record, then its row (pending in the group transaction,
        committed by :meth:`commit`). ``reuse``: an
        unchanged page takes its earlier preview (PreviewUnknown when there is none and
        ``extracting``, so that the crawl extracts it). ``item.body`` need not be the body:
        only whether it is None matters here."""
        final = item.final_hop
        s = self._session()
        # The capture a revisit repeats, held here: its preview is read, compared and named
        # below, each asking the session for it, which then finds it at hand.
        original = (
            s.scalar(select(Capture).where(Capture.warc_record_id == final.revisit_of_record))
            if final and final.revisit_of_record
            else None
        )
        revisit_of = original.capture_id if original is not None else None
        if reuse and revisit_of and item.body is not None:
            preview = repeated_preview(s, revisit_of, item.content_type)
            if preview is None and extracting:
                raise PreviewUnknown
        resource = s.get(Resource, item.resource_id)
        if resource is None:
            raise LookupError(f"no resource {item.resource_id} in the store")
        outcome = self._describe(s, resource, item, preview, revisit_of)
        outcome.job_id = self.job_id
        try:
            self._store(s, outcome)
        except Exception:
            self._replay()  # what it left half-done in the session goes
            raise
        self._held.append(outcome)
        return outcome

    def _describe(
        self,
        s: Session,
        resource: Resource,
        item: FetchItem,
        preview: Preview | None,
        revisit_of: str | None,
    ) -> FetchOutcome:
        """The capture's outcome, once its metadata record is written and flushed."""
        capture_id = new_capture_id(s, resource, item.started_at, self.config.hashids_salt)
        outcome = fetch_outcome(item, capture_id, revisit_of)
        outcome.preview = preview
        recorded = None if preview is None else recorded_preview(s, outcome, preview)
        record = outcome_record(outcome, resource.stable_id, self.job_id, recorded)
        final = item.final_hop
        self.writer.write_metadata(
            item.final_url or item.requested_url,
            refers_to=final.record_id if final else None,
            date=None,  # WARC-Date is always the wall clock, whatever the crawl clock says
            fields=record.to_json(),
        )
        self.writer.flush()
        return outcome


def _warcinfo(opening: Opening) -> dict[str, Any]:
    """The warcinfo record of the crawl's WARC files: how they were captured, by whom."""
    return {
        "software": software(),
        "operator": opening.config.operator,
        "http-header-user-agent": opening.user_agent,
        "robots": "obey" if opening.obey_robots else "ignore",
        "description": "Captures of cited sources",
    }


def _worker_host(worker: str) -> str:
    """The host part of a shared crawl's worker's WARC names: the workers' never collide."""
    named = safe_host(worker)
    return named if named.startswith(safe_host()) else f"{safe_host()}-{named}"


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
        fetch_method=item.fetch_method,
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
