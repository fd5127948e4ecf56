"""One pass over the WARC files: every response, revisit and metadata record, located.

``archive reindex`` rebuilds captures from what the scan finds; ``archive verify``
checks the store against it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from archive.warc import Locator
from archive.warc.reader import Damage, record_at, record_problem, walk_members
from archive.warc.stored import (
    READ_ERRORS,
    last_header,
)

#: ``progress(stage, done, total)``: called as files are read and captures rebuilt.
Progress = Callable[[str, int, int], None]

_EXCHANGE_TYPES = ("response", "revisit")


@dataclass(frozen=True, slots=True)
class Found:
    """A response, revisit or metadata record as the scan found it."""

    record_id: str
    record_type: str
    target_uri: str
    warc_date: str
    locator: Locator
    #: (file number, offset): write order, since one crawl writes at a time
    position: tuple[int, int]
    refers_to: str | None = None
    payload_digest: str | None = None
    truncated: bool = False
    status: int | None = None
    location: str | None = None
    content_type: str | None = None
    payload_length: int | None = None


@dataclass
class WarcScan:
    files: list[Path] = field(default_factory=list)
    records: int = 0
    #: response and revisit records by WARC-Record-ID
    exchanges: dict[str, Found] = field(default_factory=dict)
    #: the same records by target URI, in write order
    by_uri: dict[str, list[Found]] = field(default_factory=dict)
    #: metadata records in write order, with their JSON fields
    #: (``preview.full_text_preview`` dropped: it is read again only when needed)
    metadata: list[tuple[Found, dict[str, Any]]] = field(default_factory=list)
    #: late previews (``LatePreview`` blocks) by the capture id they are for; the last wins
    previews: dict[str, tuple[Found, dict[str, Any]]] = field(default_factory=dict)
    #: files that could not be read to their end, with why
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


def _found(record: Any, number: int, path: Path, offset: int, length: int) -> Found:
    headers = record.rec_headers
    http = record.http_headers
    status = None
    if http is not None and record.rec_type in _EXCHANGE_TYPES:
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            status = None
    payload_length = None
    if record.rec_type == "response":
        payload_length = 0
        while chunk := record.raw_stream.read(1 << 16):
            payload_length += len(chunk)
    return Found(
        record_id=headers.get_header("WARC-Record-ID"),
        record_type=record.rec_type,
        target_uri=headers.get_header("WARC-Target-URI") or "",
        warc_date=headers.get_header("WARC-Date") or "",
        locator=Locator(path.name, offset, length),
        position=(number, offset),
        refers_to=headers.get_header("WARC-Refers-To"),
        payload_digest=headers.get_header("WARC-Payload-Digest"),
        truncated=bool(headers.get_header("WARC-Truncated")),
        status=status,
        location=last_header(http, "Location") if status else None,
        content_type=last_header(http, "Content-Type") if status else None,
        payload_length=payload_length,
    )


def _metadata_fields(record: Any) -> dict[str, Any] | str:
    """The metadata record's JSON fields, or why they cannot be read."""
    try:
        fields = json.loads(record.raw_stream.read())
    except ValueError as exc:
        return str(exc)
    if not isinstance(fields, dict):
        return f"its block is JSON {type(fields).__name__}, not an object"
    preview = fields.get("preview")
    if isinstance(preview, dict):
        fields["preview"] = {k: v for k, v in preview.items() if k != "full_text_preview"}
    return fields


class UnreadableMetadata(Exception):
    """A metadata record whose block is not a JSON object: it describes no capture."""


@dataclass(frozen=True, slots=True)
class RecordFault:
    """A record that is not sound: a digest that does not match, or bytes that do not
    read as a record (then ``record_id`` is None)."""

    offset: int
    record_id: str | None
    problem: str


@dataclass
class FileReport:
    """What one file's pass found wrong, in file order."""

    path: Path
    #: complete gzip members, sound or not
    members: int = 0
    faults: list[Damage | RecordFault] = field(default_factory=list)


def _index(scan: WarcScan, fh: BinaryIO, number: int, path: Path, item: tuple[int, int]) -> str:
    """Add the record to what the scan holds; returns its id. Raises READ_ERRORS."""
    offset, length = item
    record = record_at(fh, offset, length)
    scan.records += 1
    record_id: str = record.rec_headers.get_header("WARC-Record-ID")
    if record.rec_type in _EXCHANGE_TYPES:
        found = _found(record, number, path, offset, length)
        scan.exchanges[found.record_id] = found
        scan.by_uri.setdefault(found.target_uri, []).append(found)
    elif record.rec_type == "metadata":
        fields = _metadata_fields(record)
        if isinstance(fields, str):
            raise UnreadableMetadata(fields)
        found = _found(record, number, path, offset, length)
        if isinstance(fields.get("preview_for"), str):
            scan.previews[fields["preview_for"]] = (found, fields)
        else:
            scan.metadata.append((found, fields))
    return record_id


def scan_file(scan: WarcScan, number: int, path: Path, check_digests: bool = False) -> FileReport:
    """Read every record of ``path`` into ``scan``; with ``check_digests``, also check
    each record's gzip member is whole and its digests sound (warcio's
    DigestVerifyingReader, what ``warcio check`` relies on). Damage does not end the read:
    records after it are still read, so one bad byte costs one record. Raises OSError."""
    report = FileReport(path)
    with open(path, "rb") as fh:
        for item in walk_members(fh):
            if isinstance(item, Damage):
                scan.unreadable.append((path, f"bytes {item.start} to {item.end} are damaged"))
                report.faults.append(item)
                continue
            offset, length = item
            report.members += 1
            problem = record_problem(fh, offset, length) if check_digests else None
            record_id = None
            try:
                record_id = _index(scan, fh, number, path, item)
            except UnreadableMetadata as exc:  # reindex passes over it, verify reports it
                problem = problem or f"unreadable record at offset {offset}: {exc}"
            except READ_ERRORS as exc:
                scan.unreadable.append((path, f"record at offset {offset}: {exc}"))
                problem = problem or f"unreadable record at offset {offset}: {exc}"
            if problem:
                report.faults.append(RecordFault(offset, record_id, problem))
    return report


def scan_warcs(paths: Iterable[Path], progress: Progress | None = None) -> WarcScan:
    """Read every record of ``paths`` (in write order: sorted by name) once."""
    scan = WarcScan(files=list(paths))
    for number, path in enumerate(scan.files):
        try:
            scan_file(scan, number, path)
        except OSError as exc:
            scan.unreadable.append((path, str(exc)))
        if progress:
            progress("read", number + 1, len(scan.files))
    return scan
