"""Writing captures to rotating ``.warc.gz`` files (WARC/1.1, one gzip member per record).

warcio builds and serialises every record; this module decides what goes into them
(design.md §5) and where: file naming and rotation, the ``.open`` convention, locators.

Each ``write_*`` call hands its records to the operating system before it returns, so
they survive the process being killed; ``flush()`` adds an fsync when the writer was
made with ``fsync=True``, for power loss. A capture row may be committed once the
``write_*`` call (and, with fsync, ``flush()``) has returned.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import WARCWriter

from archive.warc.exchange import Headers, request_message, response_message, stored_protocol
from archive.warc.files import (
    Locator,
    directory_lock,
    lock_open_file,
    open_name,
    safe_host,
    warc_filename,
)
from archive.warc.records import (
    CONFORMS_TO,
    CONVERSION_URI_PREFIX,
    FORMAT,
    METADATA_URI_PREFIX,
    PROTOCOL_IDS,
    WARC_VERSION,
    ExchangeResult,
    RevisitTarget,
    WrittenRecord,
    new_record_id,
    payload_digest_of,
    software,
    target_uri_of,
    warc_date,
)


@dataclass
class _OpenFile:
    filename: str  # the final name, as locators give it
    path: Path  # the ``.open`` path while being written
    fh: BinaryIO
    warc: WARCWriter
    warcinfo_id: str = ""


class WarcWriter:
    """Writes exchanges, metadata and conversion records to ``directory``.

    A file is opened lazily on the first write, so a run that captures nothing leaves no
    file. Not thread-safe: one writer per crawler process (Scrapy's reactor thread).
    """

    def __init__(
        self,
        directory: Path,
        prefix: str = "archive",
        max_size: int = 1 << 30,
        info: dict[str, str] | None = None,
        hostname: str | None = None,
        fsync: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_size = max_size
        self.info = dict(info or {})
        self.hostname = hostname or safe_host()
        self.fsync = fsync
        #: final names of the files this writer has started, oldest first
        self.filenames: list[str] = []
        self._serial = 0
        self._file: _OpenFile | None = None

    # -- files -------------------------------------------------------------------------

    @property
    def current_filename(self) -> str | None:
        return self._file.filename if self._file else None

    def _open_next(self) -> _OpenFile:
        opened_at = datetime.now(UTC)
        with directory_lock(self.directory):
            while True:
                name = warc_filename(self.prefix, opened_at, self._serial, self.hostname)
                self._serial += 1
                path = self.directory / open_name(name)
                # Another writer may have taken this name in the same second, and may have
                # finished the file already: both its names count as taken.
                if path.exists() or (self.directory / name).exists():
                    continue
                try:
                    fh = open(path, "xb")  # noqa: SIM115 - lives as long as the file is open
                except FileExistsError:
                    continue
                lock_open_file(fh)
                break
        warc = WARCWriter(fh, gzip=True, warc_version=WARC_VERSION)
        current = _OpenFile(name, path, fh, warc)
        self._file = current
        warcinfo = warc.create_warcinfo_record(name, self._warcinfo_fields())
        current.warcinfo_id = warcinfo.rec_headers.get_header("WARC-Record-ID")
        self._write(warcinfo)
        self.filenames.append(name)
        return current

    def _warcinfo_fields(self) -> dict[str, str]:
        fields = {
            "software": software(),
            "format": FORMAT,
            "conformsTo": CONFORMS_TO,
            "hostname": self.hostname,
        }
        # operator, robots, http-header-user-agent, isPartOf...: the caller's to state
        fields.update({k: v for k, v in self.info.items() if k not in fields})
        return fields

    def _file_for_next_write(self) -> _OpenFile:
        # Rotation happens only here, between write calls, so the records of one call
        # (a request and its response) always share a file.
        if self._file is not None and self._file.fh.tell() >= self.max_size:
            self._close_file()
        return self._file or self._open_next()

    def _close_file(self) -> None:
        current, self._file = self._file, None
        if current is None:
            return
        try:
            current.fh.flush()
            if self.fsync:
                os.fsync(current.fh.fileno())
            # Renamed while still locked: repair can never claim a file that is finished.
            os.rename(current.path, self.directory / current.filename)
            if self.fsync:
                _fsync_directory(self.directory)
        finally:
            current.fh.close()

    def _write(self, *records: ArcWarcRecord) -> list[Locator]:
        """Append records as one unit: if any fails (disk full, an interrupt), the file is
        cut back to where the first began, so it never holds a torn record or half an
        exchange that later writes would bury in the middle of the file."""
        current = self._file
        assert current is not None
        start = current.fh.tell()
        locators = []
        try:
            for record in records:
                offset = current.fh.tell()
                current.warc.write_record(record)  # one gzip member, flushed to the OS
                locators.append(Locator(current.filename, offset, current.fh.tell() - offset))
        except BaseException:
            self._file = None
            self._roll_back(current, start)
            raise
        return locators

    def _roll_back(self, current: _OpenFile, end: int) -> None:
        # The buffered handle may hold bytes of the failed record that its close would
        # still write; a duplicate descriptor (sharing the flock) cuts after it is gone.
        fd = os.dup(current.fh.fileno())
        try:
            with contextlib.suppress(OSError):
                current.fh.close()
            os.ftruncate(fd, end)
            if end == 0:  # not even the warcinfo made it
                current.path.unlink()
            else:
                os.rename(current.path, self.directory / current.filename)
        except OSError:
            pass  # left ``.open``: repair_open_files cuts it once this process is gone
        finally:
            os.close(fd)

    # -- records -----------------------------------------------------------------------

    def write_exchange(
        self,
        *,
        url: str,
        method: str = "GET",
        request_headers: Headers = (),
        request_body: bytes = b"",
        protocol: str = "HTTP/1.1",
        status: int,
        reason: str | None = None,
        response_headers: Headers = (),
        response_body: bytes = b"",
        ip_address: str | None = None,
        date: datetime | None = None,
        truncated: str | None = None,
        revisit_of: RevisitTarget | None = None,
    ) -> ExchangeResult:
        """Write one HTTP hop: its response (or a revisit) and its request.

        ``response_body`` is the body as received after de-chunking and before content
        decoding; ``truncated`` (e.g. ``"length"``) says it was cut short. Headers are
        ``(name, value)`` pairs of str, raw bytes decoded as latin-1.
        """
        current = self._file_for_next_write()
        target_uri = target_uri_of(url)
        date_str = warc_date(date)
        digest = payload_digest_of(response_body)
        revisit = revisit_of is not None and revisit_of.payload_digest == digest
        response_id, request_id = new_record_id(), new_record_id()

        def fields(record_type: str, record_id: str, concurrent_to: str) -> dict[str, str]:
            values = {
                "WARC-Type": record_type,
                "WARC-Record-ID": record_id,
                "WARC-Date": date_str,
                "WARC-Target-URI": target_uri,
                "WARC-Warcinfo-ID": current.warcinfo_id,
                "WARC-Concurrent-To": concurrent_to,
            }
            if ip_address:
                values["WARC-IP-Address"] = ip_address
            if stored_protocol(protocol) != protocol.upper():
                values["WARC-Protocol"] = PROTOCOL_IDS.get(protocol.upper(), protocol.lower())
            return values

        http_response = response_message(
            protocol=protocol,
            status=status,
            reason=reason,
            headers=response_headers,
            body_length=len(response_body),
            method=method,
        )
        if revisit:
            assert revisit_of is not None
            response = current.warc.create_revisit_record(
                target_uri,
                digest,
                revisit_of.target_uri,
                revisit_of.warc_date,
                http_headers=http_response,
                warc_headers_dict={
                    **fields("revisit", response_id, request_id),
                    "WARC-Refers-To": revisit_of.record_id,
                },
            )
        else:
            response_fields = fields("response", response_id, request_id)
            # set here so warcio does not hash the body a second time
            response_fields["WARC-Payload-Digest"] = digest
            if truncated:
                response_fields["WARC-Truncated"] = truncated
            response = current.warc.create_warc_record(
                target_uri,
                "response",
                payload=BytesIO(response_body),
                length=len(response_body),
                http_headers=http_response,
                warc_headers_dict=response_fields,
            )
        request = current.warc.create_warc_record(
            target_uri,
            "request",
            payload=BytesIO(request_body),
            length=len(request_body),
            http_headers=request_message(url, method, request_headers, protocol),
            warc_headers_dict=fields("request", request_id, response_id),
        )

        # Response first, then the request naming it in WARC-Concurrent-To: the order
        # warcio, pywb and Heritrix write, and the one cdxj-indexer pairs for POST keys.
        response_locator, request_locator = self._write(response, request)
        return ExchangeResult(
            request=WrittenRecord(
                request_id,
                "request",
                target_uri,
                date_str,
                request_locator,
                request.rec_headers.get_header("WARC-Payload-Digest"),
            ),
            response=WrittenRecord(
                response_id,
                "revisit" if revisit else "response",
                target_uri,
                date_str,
                response_locator,
                digest,
                revisit,
            ),
        )

    def write_metadata(
        self,
        target_uri: str,
        refers_to: str | None,
        date: datetime | None,
        fields: dict[str, Any],
        content_type: str = "application/json",
        concurrent_to: str | None = None,
    ) -> WrittenRecord:
        """A ``metadata`` record whose block is ``fields`` as JSON.

        ``target_uri`` is the URL described, stored as ``urn:metadata:<url>`` (see
        METADATA_URI_PREFIX). ``refers_to`` is the record described (the response or
        revisit of a capture); None for a fetch that failed before any response existed.
        """
        block = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=_json_value)
        target_uri = METADATA_URI_PREFIX + target_uri_of(target_uri)
        return self._write_block(
            "metadata",
            target_uri,
            refers_to,
            date,
            block.encode("utf-8"),
            content_type,
            concurrent_to,
        )

    def write_conversion(
        self,
        target_uri: str,
        refers_to: str,
        date: datetime | None,
        text: str,
        content_type: str = "text/plain; charset=utf-8",
    ) -> WrittenRecord:
        """A ``conversion`` record: text extracted from the response ``refers_to``, stored
        under ``urn:text:<url>`` (see METADATA_URI_PREFIX)."""
        target_uri = CONVERSION_URI_PREFIX + target_uri_of(target_uri)
        return self._write_block(
            "conversion", target_uri, refers_to, date, text.encode("utf-8"), content_type, None
        )

    def _write_block(
        self,
        record_type: str,
        target_uri: str,
        refers_to: str | None,
        date: datetime | None,
        block: bytes,
        content_type: str,
        concurrent_to: str | None,
    ) -> WrittenRecord:
        current = self._file_for_next_write()
        record_id = new_record_id()
        date_str = warc_date(date)
        values = {
            "WARC-Type": record_type,
            "WARC-Record-ID": record_id,
            "WARC-Date": date_str,
            "WARC-Target-URI": target_uri,
            "WARC-Warcinfo-ID": current.warcinfo_id,
        }
        if refers_to:
            values["WARC-Refers-To"] = refers_to
        if concurrent_to:
            values["WARC-Concurrent-To"] = concurrent_to
        record = current.warc.create_warc_record(
            target_uri,
            record_type,
            payload=BytesIO(block),
            length=len(block),
            warc_content_type=content_type,
            warc_headers_dict=values,
        )
        [locator] = self._write(record)
        return WrittenRecord(
            record_id,
            record_type,
            target_uri,
            date_str,
            locator,
            record.rec_headers.get_header("WARC-Payload-Digest"),
        )

    # -- lifecycle ---------------------------------------------------------------------

    def flush(self) -> None:
        """Make everything written so far durable: flushed, and fsynced if asked for."""
        if self._file is None:
            return
        self._file.fh.flush()
        if self.fsync:
            os.fsync(self._file.fh.fileno())

    def close(self) -> None:
        """Finish the current file: flush it and rename it from ``.open`` to its name."""
        self._close_file()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _fsync_directory(directory: Path) -> None:
    # A rename is durable only once the directory holding it is (POSIX leaves it open).
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
