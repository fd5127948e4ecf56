"""One pass over the WARC files: every response, revisit and metadata record, located.

``archive reindex`` rebuilds captures from what the scan finds; ``archive verify``
checks the store against it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.warc import Locator
from archive.warc.reader import Damage, record_at, walk_members
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


def _metadata_fields(record: Any) -> dict[str, Any] | None:
    try:
        fields = json.loads(record.raw_stream.read())
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    preview = fields.get("preview")
    if isinstance(preview, dict):
        fields["preview"] = {k: v for k, v in preview.items() if k != "full_text_preview"}
    return fields


def _scan_file(scan: WarcScan, number: int, path: Path) -> None:
    with open(path, "rb") as fh:
        for item in walk_members(fh):
            if isinstance(item, Damage):
                scan.unreadable.append((path, f"bytes {item.start} to {item.end} are damaged"))
                continue
            offset, length = item
            try:
                record = record_at(fh, offset, length)
                scan.records += 1
                if record.rec_type in _EXCHANGE_TYPES:
                    found = _found(record, number, path, offset, length)
                    scan.exchanges[found.record_id] = found
                    scan.by_uri.setdefault(found.target_uri, []).append(found)
                elif record.rec_type == "metadata":
                    fields = _metadata_fields(record)
                    if fields is not None:
                        scan.metadata.append((_found(record, number, path, offset, length), fields))
            except READ_ERRORS as exc:
                scan.unreadable.append((path, f"record at offset {offset}: {exc}"))


def scan_warcs(paths: Iterable[Path], progress: Progress | None = None) -> WarcScan:
    """Read every record of ``paths`` (in write order: sorted by name) once."""
    scan = WarcScan(files=list(paths))
    for number, path in enumerate(scan.files):
        try:
            _scan_file(scan, number, path)
        except OSError as exc:
            scan.unreadable.append((path, str(exc)))
        if progress:
            progress("read", number + 1, len(scan.files))
    return scan
