"""The viewer's loading layer: what the WARC files hold for a capture.

Headers are read and shown as stored; payloads are streamed, never read whole. A capture
row only names its response (or revisit) record; its request record is the next gzip
member of the same file, because the writer puts each request right after its response
(archive/warc/writer.py) and checks the pair by WARC-Concurrent-To here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

from archive.warc import Locator, open_warc
from archive.warc.files import final_name, open_name
from archive.warc.reader import READ_ERRORS, record_at

_CHUNK = 64 * 1024


class RecordUnavailable(LookupError):
    """The WARC record a capture names cannot be read; the message says why."""


@dataclass(frozen=True)
class Message:
    """One record: its WARC headers, and its HTTP message's start line and headers."""

    record_type: str
    warc_headers: list[tuple[str, str]]
    start_line: str | None
    http_headers: list[tuple[str, str]]


@dataclass(frozen=True)
class Exchange:
    response: Message
    #: None when the record after the response is not its request (another tool's WARC).
    request: Message | None


def _message(record: ArcWarcRecord) -> Message:
    http: StatusAndHeaders | None = record.http_headers
    start = None
    if http is not None:
        start = " ".join(p for p in (http.protocol, http.statusline) if p) or None
    return Message(
        record.rec_type,
        list(record.rec_headers.headers),
        start,
        list(http.headers) if http is not None else [],
    )


def load_exchange(warc_dir: Path, locator: Locator) -> Exchange:
    """The response (or revisit) record at ``locator`` and the request sent for it."""
    try:
        with open_warc(warc_dir, locator.filename) as fh:
            size = os.fstat(fh.fileno()).st_size
            response = record_at(fh, locator.offset, locator.length)
            response_message = _message(response)
            response_id = response.rec_headers.get_header("WARC-Record-ID")
            request_message = None
            after = locator.offset + locator.length
            if after < size:
                try:
                    request = record_at(fh, after, size - after)
                except READ_ERRORS:
                    request = None
                if (
                    request is not None
                    and request.rec_type == "request"
                    and request.rec_headers.get_header("WARC-Concurrent-To") == response_id
                ):
                    request_message = _message(request)
    except READ_ERRORS as exc:
        raise RecordUnavailable(f"{locator.filename} at offset {locator.offset}: {exc}") from exc
    return Exchange(response_message, request_message)


class Payload:
    """A record's HTTP payload as a WSGI body: iterated in chunks, closed by the server."""

    def __init__(self, fh: BinaryIO, stream: BinaryIO, coding: str = "") -> None:
        self._fh = fh
        self._stream = stream
        #: The response's Content-Encoding, still applied to these bytes ("" for none).
        self.coding = coding

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self._stream.read(_CHUNK):
            yield chunk

    def close(self) -> None:
        self._fh.close()


def open_payload(warc_dir: Path, locator: Locator) -> Payload:
    """The response record's payload as stored (content-coding kept: the wire bytes).
    Opened here, so that a missing file fails before a response starts rather than
    half-way through one."""
    try:
        fh = open_warc(warc_dir, locator.filename)
    except OSError as exc:
        raise RecordUnavailable(f"{locator.filename}: {exc}") from exc
    try:
        record = record_at(fh, locator.offset, locator.length)
        if record.rec_type != "response":
            raise RecordUnavailable(f"the record at {locator.offset} is a {record.rec_type}")
        http = record.http_headers
        coding = (http.get_header("Content-Encoding") or "").strip() if http is not None else ""
        return Payload(fh, record.raw_stream, coding)
    except BaseException as exc:
        fh.close()
        if isinstance(exc, READ_ERRORS):
            raise RecordUnavailable(f"{locator.filename} at {locator.offset}: {exc}") from exc
        raise


def still_open(warc_dir: Path, locator: Locator) -> bool:
    """Whether the record's file is still being written (``.open``): the replay index only
    covers finished files, whose names no longer change."""
    return (warc_dir / open_name(final_name(locator.filename))).exists()
