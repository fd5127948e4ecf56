"""Checking the WARC files against the store (``archive verify``).

Three questions, each answered from the bytes: does every capture row's locator hold the
complete record it names; does every WARC file read to its end with sound digests and
nothing but whole gzip members; and does every capture the files describe have a row.
A *problem* is an inconsistency someone must act on (exit 1); a *note* is worth knowing
but needs no action (a crawl writing right now, the leftovers of a killed one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from archive.capture.schema import Hop
from archive.integrity.scan import FileReport, WarcScan, scan_file
from archive.store.db import Store
from archive.store.models import Capture, CaptureRequisite
from archive.warc import Locator, verify_locator
from archive.warc.files import OPEN_SUFFIX, WARC_SUFFIX, directory_lock, lock_open_file
from archive.warc.reader import Damage

#: ``progress(stage, done, total)``
Progress = Callable[[str, int, int], None]

# Crawls fetch robots.txt through the same capture middleware; those exchanges are
# archived on purpose and belong to no capture.
_NOT_A_CAPTURE = ("/robots.txt",)


@dataclass(frozen=True)
class Finding:
    #: record, damaged, locator, missing-file, orphan-capture, no-metadata, open-file
    #: (problems); open-file-in-use, orphan-exchange (notes)
    kind: str
    message: str
    file: str | None = None
    capture_id: str | None = None
    record_id: str | None = None
    offset: int | None = None
    problem: bool = True


@dataclass
class VerifyReport:
    files: int = 0
    records: int = 0
    captures: int = 0
    locators: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.problem]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if not f.problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for f in self.problems:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        detail = f" ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})" if kinds else ""
        return (
            f"verify: {self.files} files, {self.records} records, {self.captures} captures, "
            f"{self.locators} locators: {len(self.problems)} problems{detail}, "
            f"{len(self.notes)} notes"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.files,
            "records": self.records,
            "captures": self.captures,
            "locators": self.locators,
            "problems": [asdict(f) for f in self.problems],
            "notes": [asdict(f) for f in self.notes],
        }


@dataclass
class _Contents:
    """What the files hold, for matching against the rows."""

    #: response/revisit record id -> (file, offset, target URI)
    exchanges: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    #: capture id -> (file, offset, record id) of its metadata record
    metadata: dict[str, tuple[str, int, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, scan: WarcScan) -> _Contents:
        contents = cls()
        for record_id, found in scan.exchanges.items():
            where = found.locator
            contents.exchanges[record_id] = (where.filename, where.offset, found.target_uri)
        for found, fields in scan.metadata:
            capture_id = fields.get("capture_id")
            if capture_id:
                where = found.locator
                contents.metadata[capture_id] = (where.filename, where.offset, found.record_id)
        return contents


def _printable(text: str, limit: int = 160) -> str:
    # Parse errors quote the bytes they choked on: keep a finding to one readable line.
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _report_faults(file: FileReport, report: VerifyReport) -> None:
    """A finished file's damage and unsound records, one finding each (damage does not end
    the read: one bad byte is one finding, not a file's worth)."""
    name = file.path.name
    report.records += file.members
    for fault in file.faults:
        if isinstance(fault, Damage):
            message = f"{name}: bytes {fault.start} to {fault.end} are not whole records"
            report.findings.append(Finding("damaged", message, name, offset=fault.start))
        else:
            report.findings.append(
                Finding(
                    "record",
                    f"{name}: {_printable(fault.problem)}",
                    name,
                    record_id=fault.record_id,
                    offset=fault.offset,
                )
            )


def _in_use(path: Path) -> bool | None:
    """True while a live writer holds ``path``; None if it was finished meanwhile."""
    # Under the directory lock, as repair judges it: a writer creates and locks its
    # file under the same lock, so a brand-new file is never taken for abandoned.
    with directory_lock(path.parent):
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below, releasing our lock
        except FileNotFoundError:
            return None
        with fh:
            return not lock_open_file(fh)


def _check_locator(
    directory: Path,
    report: VerifyReport,
    capture_id: str,
    record_id: str,
    filename: str | None,
    offset: int | None,
    length: int | None,
) -> bool:
    """Whether the locator's file exists (a missing file is one finding, said once)."""
    report.locators += 1
    if not filename or offset is None or length is None:
        report.findings.append(
            Finding("locator", f"{capture_id}: no locator for {record_id}", None, capture_id)
        )
        return True
    if not any((directory / name).exists() for name in (filename, filename + OPEN_SUFFIX)):
        report.findings.append(
            Finding(
                "missing-file",
                f"{capture_id}: WARC file {filename} does not exist",
                filename,
                capture_id,
                record_id,
            )
        )
        return False
    check = verify_locator(directory, Locator(filename, offset, length), record_id)
    if not check:
        report.findings.append(
            Finding(
                "locator",
                f"{capture_id}: {filename}: {_printable(check.problem or '')}",
                filename,
                capture_id,
                record_id,
                offset,
            )
        )
    return True


def _check_open_files(paths: list[Path], scan: WarcScan, report: VerifyReport) -> bool:
    """Report ``.open`` files and learn what they hold; True if a crawl is writing one.
    They are read only to learn that: a live one may end mid-record."""
    live = False
    for path in paths:
        in_use = _in_use(path)
        if in_use is None:  # finished by its writer since the directory was listed
            continue
        live = live or in_use
        if in_use:
            message = f"{path.name}: being written by a running crawl"
        else:
            message = f"{path.name}: left open by a crawl that died; `archive reindex` repairs it"
        report.findings.append(
            Finding(
                "open-file-in-use" if in_use else "open-file",
                message,
                path.name,
                problem=not in_use,
            )
        )
        scan_file(scan, 0, path)
    return live


def _check_rows(
    directory: Path,
    rows: Sequence[Any],
    contents: _Contents,
    report: VerifyReport,
    live: bool,
    progress: Progress | None,
) -> tuple[set[str], set[str]]:
    """Every row's locators (its final record and each hop's); returns the capture ids
    and the record ids the rows name."""
    referenced: set[str] = set()
    for number, (capture_id, record_id, filename, offset, length, chain) in enumerate(rows, 1):
        file_exists = True
        if record_id:
            referenced.add(record_id)
            file_exists = _check_locator(
                directory, report, capture_id, record_id, filename, offset, length
            )
        for hop in filter(None, map(Hop.from_json, chain or [])):
            hop_id = hop.record_id
            if hop_id and hop_id != record_id:
                referenced.add(hop_id)
                _check_locator(
                    directory, report, capture_id, hop_id, hop.warc_file, hop.offset, hop.length
                )
        # A live crawl commits rows only after their metadata is written, but that record
        # may sit in the torn-looking tail of its .open file: say nothing while one runs.
        if capture_id not in contents.metadata and file_exists and not live:
            report.findings.append(
                Finding(
                    "no-metadata",
                    f"{capture_id}: no metadata record in any WARC file; reindex cannot "
                    "rebuild this row",
                    filename,
                    capture_id,
                )
            )
        if progress and (number % 100 == 0 or number == len(rows)):
            progress("captures", number, len(rows))
    return {row[0] for row in rows}, referenced


def verify(store: Store, progress: Progress | None = None) -> VerifyReport:
    """Check the WARC files under the store's home against its capture rows."""
    directory = store.config.warc_dir
    report = VerifyReport()
    scan = WarcScan()
    live = _check_open_files(sorted(directory.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}")), scan, report)
    finished = sorted(directory.glob(f"*{WARC_SUFFIX}"))
    report.files = len(finished)
    for number, path in enumerate(finished, 1):
        _report_faults(scan_file(scan, number, path, check_digests=True), report)
        if progress:
            progress("read", number, len(finished))
    contents = _Contents.of(scan)
    with store.session() as session:
        rows = session.execute(
            select(
                Capture.capture_id,
                Capture.warc_record_id,
                Capture.warc_file,
                Capture.warc_offset,
                Capture.warc_length,
                Capture.redirect_chain,
            ).order_by(Capture.warc_file, Capture.warc_offset)
        ).all()
        requisite_hops = session.scalars(select(CaptureRequisite.hops)).all()
    report.captures = len(rows)
    captures, referenced = _check_rows(directory, rows, contents, report, live, progress)
    # A page's requisites are its capture's too: their exchanges are no orphans.
    for hops in requisite_hops:
        referenced.update(h.record_id for h in map(Hop.from_json, hops or []) if h and h.record_id)
    _orphans(contents, captures, referenced, report, {p.name for p in finished})
    return report


def _orphans(
    contents: _Contents,
    rows: set[str],
    referenced: set[str],
    report: VerifyReport,
    finished: set[str],
) -> None:
    # Records in .open files may still be waiting for their row: only finished files count.
    for capture_id, (filename, offset, record_id) in sorted(contents.metadata.items()):
        if capture_id not in rows and filename in finished:
            report.findings.append(
                Finding(
                    "orphan-capture",
                    f"{filename} offset {offset}: capture {capture_id} has no row "
                    "(written before a crash, or the row was lost); `archive reindex` "
                    "restores it",
                    filename,
                    capture_id,
                    record_id,
                    offset,
                )
            )
    for record_id, (filename, offset, target) in contents.exchanges.items():
        if record_id in referenced or filename not in finished or target.endswith(_NOT_A_CAPTURE):
            continue
        # A crawl killed between writing an exchange and its metadata record leaves these;
        # the bytes are sound and replayable, and nothing can be done about them.
        report.findings.append(
            Finding(
                "orphan-exchange",
                f"{filename} offset {offset}: {target} belongs to no capture",
                filename,
                None,
                record_id,
                offset,
                problem=False,
            )
        )
