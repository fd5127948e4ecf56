"""Rebuilding the store from the WARC files alone (docs/design.md §1: the WARCs are the truth).

Every capture leaves a ``metadata`` record naming its resource and capture id, its
redirect chain and its outcome, with WARC-Refers-To the final response (or revisit).
A reindex walks all files once, indexes the exchange records, and for each metadata
record whose capture is missing from the store rebuilds the row: the locator and
digests from the records themselves, the preview by extracting the payload again (so
``full_text`` is whole, not the 50 KB the metadata record carries), then the resource's
link state by replaying its captures in time order.

What the WARCs do not hold stays lost: the job a capture belonged to, and a resource's
registry fields (title, type, tags, cited_by) that only ``archive import`` supplies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, load_only

from archive.capture.pool import Bounds, PreviewPool
from archive.capture.preview import Preview
from archive.capture.record import capture_row
from archive.integrity.rebuild import PreviewCounts, Rebuilt, rebuild_outcomes, rebuild_preview
from archive.integrity.scan import Progress, WarcScan, scan_warcs
from archive.registry import ids
from archive.registry.importer import free_numbers
from archive.registry.urls import host_of, url_key
from archive.rot.linkstate import Check, apply_check, refresh_interval
from archive.store.db import Store
from archive.store.fulltext import rebuild_index
from archive.store.models import Capture, LinkEvent, LinkState, Resource
from archive.warc import RepairReport, repair_open_files
from archive.warc.codings import decoded_cap
from archive.warc.files import OPEN_SUFFIX, WARC_SUFFIX

# -- resources and link state --------------------------------------------------------------


def new_resource(
    session: Session, item: Rebuilt, first: datetime, last: datetime, salt: str
) -> Resource:
    """A resource the store lost, rebuilt from what its captures' metadata says."""
    rid = item.outcome.resource_id
    # The capture id encodes the number the resource had, even after a collision moved it.
    key = ids.decode_capture_id(item.outcome.capture_id, salt)
    wanted = key.resource_number if key else ids.resource_number(rid)
    number = free_numbers(session, {rid: wanted})[rid]
    stable_id = item.record.stable_id or ids.stable_id_for(number, salt)
    if session.scalar(select(Resource.resource_id).where(Resource.stable_id == stable_id)):
        stable_id = ids.stable_id_for(number, salt)  # taken meanwhile by an import
    url = item.outcome.requested_url
    try:
        key_of_url = url_key(url)
    except ValueError:
        key_of_url = url
    resource = Resource(
        resource_id=rid,
        number=number,
        stable_id=stable_id,
        stable_id_source="generated" if stable_id == ids.stable_id_for(number, salt) else "input",
        url=url,
        url_key=key_of_url,
        host=host_of(url),
        tags=[],
        cited_by=[],
        meta={},
        link_state=LinkState.UNKNOWN,
        consecutive_failures=0,
        first_seen_at=first,
        last_seen_at=last,
    )
    session.add(resource)
    return resource


def replay_link_state(
    session: Session, resource: Resource, refresh_days: float, by_type: dict[str, float]
) -> int:
    """Reset the resource to never checked and apply its captures in time order, as the
    crawls did one by one; returns the number of link events recorded."""
    resource.link_state = LinkState.UNKNOWN
    resource.state_since = None
    resource.consecutive_failures = 0
    resource.failure_kind = None
    resource.last_failure_at = None
    resource.last_checked_at = None
    resource.last_ok_capture_id = None
    session.execute(delete(LinkEvent).where(LinkEvent.resource_id == resource.resource_id))
    captures = session.scalars(
        select(Capture)
        .options(
            load_only(
                Capture.capture_id,
                Capture.requested_url,
                Capture.final_url,
                Capture.http_status,
                Capture.error_class,
                Capture.fetched_at,
            )
        )
        .where(Capture.resource_id == resource.resource_id)
        .order_by(Capture.fetched_at, Capture.capture_id)
    ).all()
    refresh = refresh_interval(resource, refresh_days, by_type)
    events = 0
    for c in captures:
        check = Check(c.requested_url, c.final_url, c.http_status, c.error_class, c.capture_id)
        event = apply_check(resource, check, c.fetched_at, refresh)
        if event is not None:
            session.add(event)
            events += 1
    return events


# -- the whole run -------------------------------------------------------------------------


@dataclass
class ReindexReport:
    dry_run: bool = False
    files: int = 0
    records: int = 0
    metadata_records: int = 0
    captures_rebuilt: int = 0
    captures_present: int = 0
    resources_created: int = 0
    resources_replayed: int = 0
    link_events: int = 0
    #: metadata records without a usable capture id / resource id / time, or repeated
    skipped: int = 0
    #: redirect hops whose record was not found in any file
    missing_hops: int = 0
    previews: PreviewCounts = field(default_factory=PreviewCounts)
    repairs: list[RepairReport] = field(default_factory=list)
    #: ``.open`` files not read: in use by a crawl, damaged, or (dry run) not repaired
    open_files: list[Path] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    #: captures in the search index, made again after the rows (None: a dry run)
    search_indexed: int | None = None

    def summary(self) -> str:
        verb = "would rebuild" if self.dry_run else "rebuilt"
        created = "would create" if self.dry_run else "created"
        return (
            f"{self.files} files, {self.records} records, {self.metadata_records} captures "
            f"described: {verb} {self.captures_rebuilt}, {self.captures_present} already "
            f"present; {created} {self.resources_created} resources"
            + (f"; {self.search_indexed} in the search index" if self.search_indexed else "")
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "files": self.files,
            "records": self.records,
            "metadata_records": self.metadata_records,
            "captures_rebuilt": self.captures_rebuilt,
            "captures_present": self.captures_present,
            "resources_created": self.resources_created,
            "resources_replayed": self.resources_replayed,
            "link_events": self.link_events,
            "skipped": self.skipped,
            "missing_hops": self.missing_hops,
            "previews_extracted": self.previews.extracted,
            "previews_differing": self.previews.differs,
            "previews_from_metadata": self.previews.from_metadata,
            "repairs": [{"path": str(r.path), "action": r.action} for r in self.repairs],
            "open_files": [str(p) for p in self.open_files],
            "unreadable": [{"path": str(p), "problem": why} for p, why in self.unreadable],
            "search_indexed": self.search_indexed,
        }


def _known_records(session: Session) -> tuple[set[str], dict[str, str]]:
    rows = session.execute(select(Capture.capture_id, Capture.warc_record_id)).all()
    return {cid for cid, _ in rows}, {rid: cid for cid, rid in rows if rid}


def _scan(directory: Path, report: ReindexReport, progress: Progress | None) -> WarcScan:
    """Repair abandoned ``.open`` files (unless a dry run), then read the finished ones."""
    if directory.exists() and not report.dry_run:
        # Cut torn tails first (docs/design.md §1); files a live crawl holds are left alone.
        report.repairs = repair_open_files(directory)
    if directory.exists():
        report.open_files = sorted(directory.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}"))
    files = sorted(directory.glob(f"*{WARC_SUFFIX}")) if directory.exists() else []
    scan = scan_warcs(files, progress)
    report.files, report.records = len(files), scan.records
    report.metadata_records = len(scan.metadata)
    report.unreadable = scan.unreadable
    return scan


def _missing(
    store: Store, scan: WarcScan, report: ReindexReport
) -> tuple[list[list[Rebuilt]], dict[str, Rebuilt]]:
    """The captures the store lacks, by resource, and every capture the WARCs describe
    (by id); counts what there is to do."""
    with store.session() as session:
        present, record_captures = _known_records(session)
        resources = set(session.scalars(select(Resource.resource_id)))
    rebuilt, report.skipped = rebuild_outcomes(scan, record_captures)
    todo: dict[str, list[Rebuilt]] = {}
    for item in rebuilt:
        if item.outcome.capture_id in present:
            report.captures_present += 1
        else:
            todo.setdefault(item.outcome.resource_id, []).append(item)
    report.resources_created = sum(rid not in resources for rid in todo)
    report.captures_rebuilt = sum(len(items) for items in todo.values())
    return list(todo.values()), {r.outcome.capture_id: r for r in rebuilt}


def reindex(
    store: Store,
    *,
    dry_run: bool = False,
    refresh_by_type: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> ReindexReport:
    """Rebuild every capture row the WARCs describe and the store lacks.

    Existing rows are left as they are, so a second run adds nothing. Each resource is
    rebuilt in its own transaction: an interrupted run leaves whole resources, and a
    rerun finishes the rest. The caller keeps crawls out meanwhile (the crawl lock).
    """
    config = store.config
    directory = config.warc_dir
    report = ReindexReport(dry_run=dry_run)
    scan = _scan(directory, report, progress)
    todo, by_capture = _missing(store, scan, report)
    if dry_run:
        return report
    by_type = config.refresh_by_type if refresh_by_type is None else refresh_by_type
    # The payloads are as untrusted as when they were crawled: extracted within the same bounds.
    pool = PreviewPool(Bounds.of(config))
    try:
        _rebuild(store, todo, by_capture, report, by_type, pool, progress)
    finally:
        pool.close(wait=False)
    # Rows were added and nothing removed, and triggers index each: made again all the
    # same, to mend an index whose rowids a VACUUM moved or that was otherwise damaged.
    with store.engine.begin() as conn:
        report.search_indexed = rebuild_index(conn)
    return report


def _rebuild(
    store: Store,
    todo: list[list[Rebuilt]],
    by_capture: dict[str, Rebuilt],
    report: ReindexReport,
    by_type: dict[str, float],
    pool: PreviewPool,
    progress: Progress | None,
) -> None:
    """Each missing resource's captures, rows again, in one transaction per resource."""
    config, directory = store.config, store.config.warc_dir
    cap = decoded_cap(config.max_body_size)

    def extract(body: bytes, content_type: str | None, url: str | None) -> Preview:
        return pool.outcome(pool.submit(body, content_type, url), url)

    done = 0
    for items in todo:
        items.sort(key=lambda r: (r.outcome.fetched_at, r.outcome.capture_id))
        with store.session() as session:
            resource = session.get(Resource, items[0].outcome.resource_id)
            if resource is None:
                times = [r.outcome.fetched_at for r in items]
                resource = new_resource(
                    session, items[0], min(times), max(times), config.hashids_salt
                )
            for item in items:
                item.outcome.preview = rebuild_preview(
                    directory, item, by_capture, report.previews, extract, cap
                )
                capture_row(session, item.outcome)
                item.outcome.preview = None  # up to 5 MB of text: not kept past its row
                report.missing_hops += item.missing_hops
                done += 1
                if progress:
                    progress("rebuild", done, report.captures_rebuilt)
            report.link_events += replay_link_state(session, resource, config.refresh_days, by_type)
            report.resources_replayed += 1
