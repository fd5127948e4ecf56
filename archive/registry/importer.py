"""``archive import``: upsert resource lists into the store, one transaction a file.

Rows are keyed on ``resource_id``. Re-importing is idempotent: ``cited_by``
accumulates, unknown input fields are kept in ``meta``, stable ids once assigned
never change (an input stable id replaces only a generated one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from archive.registry import ids
from archive.registry.citations import known_resources, record_prior_checks
from archive.registry.entries import Entry, union, validate
from archive.registry.sources import MalformedFile, Row, read_rows
from archive.registry.urls import BadURL, host_of, url_key
from archive.store.db import Store, chunks
from archive.store.models import LinkEvent, Resource


@dataclass
class Rejected:
    line: int
    reason: str


@dataclass
class ImportReport:
    path: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    error: str | None = None  # the whole file was refused
    warnings: list[str] = field(default_factory=list)
    #: Every resource the file named (new, updated or unchanged), in file order.
    resource_ids: list[str] = field(default_factory=list)
    #: The wiki's own checks newly recorded, for a citation-archive file (else None).
    prior_checks: int | None = None

    def summary(self) -> str:
        if self.error:
            return f"{self.error} (nothing imported)"
        prior = "" if self.prior_checks is None else f"; {self.prior_checks} new prior checks"
        return (
            f"{self.path}: {self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected{prior}"
        )


class Importer:
    """Upserts resource lists into the store.

    A known id arriving with a materially different URL is refused (a list re-pointing
    an id would hand another page the old one's captures and state) unless
    ``allow_url_change``; an accepted change is recorded as an event of the resource.
    """

    def __init__(
        self, store: Store, now: dt.datetime | None = None, allow_url_change: bool = False
    ) -> None:
        self.store = store
        self.salt = store.config.hashids_salt
        self.now = now or dt.datetime.now(dt.UTC)
        self.allow_url_change = allow_url_change

    def import_file(self, path: Path) -> ImportReport:
        report = ImportReport(str(path))
        try:
            rows = read_rows(path, report.warnings)
        except MalformedFile as exc:
            report.error = str(exc)
            return report
        entries = self._validate_all(rows, report)
        with self.store.session() as session:
            entries = self._join_cited(session, entries)
            self._upsert(session, entries, report)
            if any(e.prior for e in entries):
                accepted = set(report.resource_ids)
                checks = [
                    (e.resource_id, prior)
                    for e in entries
                    if e.resource_id in accepted
                    for prior in e.prior
                ]
                report.prior_checks = record_prior_checks(session, checks, path.name, self.now)
        report.rejected.sort(key=lambda r: r.line)
        return report

    def _join_cited(self, session: Session, entries: list[Entry]) -> list[Entry]:
        """A citation names its URL as its page wrote it: it joins the resource that URL is
        (the same page, stored or earlier in the file) rather than making a second one, and
        gives a title only to a resource it makes."""
        known = known_resources(session, [e.url for e in entries if e.prior])
        if not known:
            return entries
        by_id: dict[str, Entry] = {}
        for entry in entries:
            if entry.prior and entry.url in known:
                entry.resource_id, entry.url = known[entry.url]
                entry.fields.pop("title", None)
            first = by_id.setdefault(entry.resource_id, entry)
            if first is not entry:
                first.absorb(entry)
        return list(by_id.values())

    def _validate_all(self, rows: list[Row], report: ImportReport) -> list[Entry]:
        by_id: dict[str, Entry] = {}
        for row in rows:
            try:
                entry = validate(row)
            except (ValueError, BadURL) as exc:
                report.rejected.append(Rejected(row.line, str(exc)))
                continue
            report.warnings.extend(f"{report.path}:{row.line}: {w}" for w in entry.warnings)
            first = by_id.get(entry.resource_id)
            if first is None:
                by_id[entry.resource_id] = entry
            elif first.url != entry.url:
                report.rejected.append(
                    Rejected(
                        entry.line,
                        f"duplicate id {entry.resource_id} with a different URL (line {first.line} "
                        f"has {first.url})",
                    )
                )
            else:  # the same resource twice: merge, later values win, citations accumulate
                first.absorb(entry)
        return list(by_id.values())

    def _upsert(self, session: Session, entries: list[Entry], report: ImportReport) -> None:
        existing: dict[str, Resource] = {}
        for chunk in chunks([e.resource_id for e in entries]):
            query = select(Resource).where(Resource.resource_id.in_(chunk))
            existing.update((found.resource_id, found) for found in session.scalars(query))
        taken_sids = self._owners_of_stable_ids(session, entries)
        new_numbers = self._numbers_for(
            session, [e for e in entries if e.resource_id not in existing]
        )
        seen: list[str] = []
        fresh: list[dict[str, Any]] = []
        for entry in entries:
            sid_owner = _owner(taken_sids, entry.stable_id)
            if sid_owner is not None and sid_owner != entry.resource_id:
                report.rejected.append(
                    Rejected(
                        entry.line, f"stable_id {entry.stable_id} already belongs to {sid_owner}"
                    )
                )
                continue
            res = existing.get(entry.resource_id)
            if res is None:
                fresh.append(self._new_resource(entry, new_numbers[entry.resource_id]))
                report.new += 1
            else:
                seen.append(res.resource_id)
                old_url = res.url
                try:
                    changed = self._update(res, entry)
                except ValueError as exc:
                    report.rejected.append(Rejected(entry.line, str(exc)))
                    continue
                if res.url != old_url:
                    session.add(self._url_event(res, old_url, report.path, entry.line))
                if changed:
                    report.updated += 1
                else:
                    report.unchanged += 1
            if entry.stable_id:
                taken_sids[entry.stable_id] = entry.resource_id
            report.resource_ids.append(entry.resource_id)
        for chunk in chunks(fresh):  # Core bulk insert: 6,000 rows in a fraction of a second
            session.execute(insert(Resource), chunk)
        for chunk in chunks(seen):
            session.execute(
                update(Resource)
                .where(Resource.resource_id.in_(chunk))
                .values(last_seen_at=self.now)
            )

    def _url_event(self, res: Resource, old_url: str, path: str, line: int) -> LinkEvent:
        """The resource's history keeps that its URL was changed, from what, and by which list."""
        return LinkEvent(
            resource_id=res.resource_id,
            at=self.now,
            from_state=res.link_state,
            to_state=res.link_state,
            reason=f"url changed from {old_url} to {res.url} ({path}:{line})",
        )

    def _owners_of_stable_ids(self, session: Session, entries: list[Entry]) -> dict[str, str]:
        wanted = [form for e in entries if e.stable_id for form in ids.stable_id_forms(e.stable_id)]
        owners: dict[str, str] = {}
        for chunk in chunks(wanted):
            rows = session.execute(
                select(Resource.stable_id, Resource.resource_id).where(
                    Resource.stable_id.in_(chunk)
                )
            )
            owners.update({sid: rid for sid, rid in rows})
        return owners

    def _numbers_for(self, session: Session, entries: list[Entry]) -> dict[str, int]:
        return free_numbers(
            session, {e.resource_id: ids.resource_number(e.resource_id) for e in entries}
        )

    def _new_resource(self, entry: Entry, number: int) -> dict[str, Any]:
        fields = entry.fields
        return dict(
            resource_id=entry.resource_id,
            number=number,
            stable_id=entry.stable_id or ids.stable_id_for(number, self.salt),
            stable_id_source="input" if entry.stable_id else "generated",
            url=entry.url,
            url_key=_safe_key(entry.url),
            host=host_of(entry.url),
            title=fields.get("title"),
            type=fields.get("type"),
            tags=fields.get("tags", []),
            cited_by=union(None, fields.get("cited_by")),
            refresh_seconds=fields.get("refresh_seconds"),
            meta=entry.meta,
            link_state="unknown",
            consecutive_failures=0,
            first_seen_at=self.now,
            last_seen_at=self.now,
            next_due_at=self.now,
        )

    def _update(self, res: Resource, entry: Entry) -> bool:
        """Apply an entry to a stored resource; True if anything changed."""
        # one id, whether spelt with or without sid_: the stored spelling stays
        sid_differs = bool(entry.stable_id) and not ids.same_stable_id(
            entry.stable_id, res.stable_id
        )
        if sid_differs and res.stable_id_source == "input":
            raise ValueError(
                f"stable_id {entry.stable_id} conflicts with {res.stable_id} already given "
                f"for {res.resource_id}; stable ids never change"
            )
        changes: dict[str, Any] = {}
        if entry.url != res.url:  # an edited URL keeps its ids
            moved = _safe_key(entry.url) != res.url_key
            if moved and not self.allow_url_change:
                raise ValueError(
                    f"id {res.resource_id} is stored with URL {res.url}; refusing to change it "
                    f"to {entry.url} (--allow-url-change to accept)"
                )
            changes.update(url=entry.url, url_key=_safe_key(entry.url), host=host_of(entry.url))
        for key in ("title", "type", "tags", "refresh_seconds"):
            if key in entry.fields and entry.fields[key] != getattr(res, key):
                changes[key] = entry.fields[key]
        cited = union(res.cited_by, entry.fields.get("cited_by"))
        if cited != (res.cited_by or []):
            changes["cited_by"] = cited
        meta = {**(res.meta or {}), **entry.meta}
        if sid_differs:
            # The wiki's own stable id wins over ours; ours stays decodable as an alias.
            meta["stable_id_aliases"] = [*meta.get("stable_id_aliases", []), res.stable_id]
            changes.update(stable_id=entry.stable_id, stable_id_source="input")
        if meta != (res.meta or {}):
            changes["meta"] = meta
        for key, value in changes.items():
            setattr(res, key, value)
        return bool(changes)


def free_numbers(session: Session, wanted: dict[str, int]) -> dict[str, int]:
    """Numbers for new resources (resource id -> the number it would have); a (rare)
    48-bit collision, with the store or within ``wanted``, takes the next free one."""
    taken: set[int] = set()
    for chunk in chunks(list(wanted.values())):
        taken.update(session.scalars(select(Resource.number).where(Resource.number.in_(chunk))))
    out: dict[str, int] = {}
    for rid, number in wanted.items():
        while number in taken:
            number += 1
            if session.scalar(select(Resource.number).where(Resource.number == number)):
                taken.add(number)
        taken.add(number)
        out[rid] = number
    return out


def _owner(taken: dict[str, str], stable_id: str | None) -> str | None:
    """Which resource holds ``stable_id``, in either spelling (None: no one)."""
    if not stable_id:
        return None
    return next((taken[f] for f in ids.stable_id_forms(stable_id) if f in taken), None)


def _safe_key(url: str) -> str:
    try:
        return url_key(url)
    except ValueError:
        return url


#: What a folder given to ``archive import`` is read for (the wiki's data/citation-archive/).
LIST_SUFFIXES = (".yaml", ".yml", ".json", ".csv", ".txt")


def list_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, a folder standing for the resource lists in it (by name)."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in LIST_SUFFIXES))
        else:
            out.append(path)
    return out


def import_files(
    store: Store, paths: Iterable[Path], allow_url_change: bool = False
) -> list[ImportReport]:
    importer = Importer(store, allow_url_change=allow_url_change)
    return [importer.import_file(p) for p in list_files(paths)]
