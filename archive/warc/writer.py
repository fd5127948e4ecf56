"""Writing captures to rotating ``.warc.gz`` files (WARC/1.1, one gzip member per record).

warcio builds and serialises every record; this module decides what goes into them
(docs/design.md §5), ``rotation`` where: file naming and rotation, the ``.open`` convention,
locators.

Each ``write_*`` call hands its records to the operating system before it returns, so
they survive the process being killed; ``flush()`` adds an fsync when the writer was
made with ``fsync=True``, for power loss. A capture row may be committed once the
``write_*`` call (and, with fsync, ``flush()``) has returned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import Any

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.warc.exchange import Headers, request_message, response_message, stored_protocol
from archive.warc.files import Locator, safe_host
from archive.warc.records import (
    CONFORMS_TO,
    FORMAT,
    METADATA_URI_PREFIX,
    PROTOCOL_IDS,
    ExchangeResult,
    RevisitTarget,
    WrittenRecord,
    new_record_id,
    payload_digest_of,
    software,
    target_uri_of,
    warc_date,
)
from archive.warc.rotation import RotatingFiles


@dataclass(frozen=True)
class _Hop:
    """What the response and request records of one HTTP hop both say."""

    target_uri: str
    date: str
    warcinfo_id: str
    ip_address: str | None
    protocol: str

    def fields(self, record_type: str, record_id: str, concurrent_to: str) -> dict[str, str]:
        values = {
            "WARC-Type": record_type,
            "WARC-Record-ID": record_id,
            "WARC-Date": self.date,
            "WARC-Target-URI": self.target_uri,
            "WARC-Warcinfo-ID": self.warcinfo_id,
            "WARC-Concurrent-To": concurrent_to,
        }
        if self.ip_address:
            values["WARC-IP-Address"] = self.ip_address
        if stored_protocol(self.protocol) != self.protocol.upper():
            values["WARC-Protocol"] = PROTOCOL_IDS.get(self.protocol.upper(), self.protocol.lower())
        return values


class WarcWriter:
    """Writes exchanges and metadata records to ``directory``.

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
        gzip_level: int = 2,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.info = dict(info or {})
        self.hostname = hostname or safe_host()
        self.files = RotatingFiles(
            self.directory,
            prefix,
            max_size,
            self.hostname,
            fsync,
            self._warcinfo_fields,
            gzip_level,
        )

    @property
    def filenames(self) -> list[str]:
        """Final names of the files this writer has started, oldest first."""
        return self.files.filenames

    @property
    def current_filename(self) -> str | None:
        current = self.files.current
        return current.filename if current else None

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
        request_head: bytes | None = None,
        response_head: bytes | None = None,
    ) -> ExchangeResult:
        """Write one HTTP hop: its response (or a revisit) and its request.

        ``response_body`` is the body as received after de-chunking and before content
        decoding; ``truncated`` (e.g. ``"length"``) says it was cut short. Headers are
        ``(name, value)`` pairs of str, raw bytes decoded as latin-1. ``request_head`` and
        ``response_head``, when given, are the heads exactly as sent and received (start
        line to blank line), stored instead of heads rebuilt from the pairs."""
        current = self.files.for_next_write()
        hop = _Hop(target_uri_of(url), warc_date(date), current.warcinfo_id, ip_address, protocol)
        digest = payload_digest_of(response_body)
        revisit = revisit_of is not None and revisit_of.payload_digest == digest
        same = revisit_of if revisit else None
        response_id, request_id = new_record_id(), new_record_id()
        http_response = response_message(
            protocol=protocol,
            status=status,
            reason=reason,
            headers=response_headers,
            body_length=len(response_body),
            method=method,
            head=response_head,
        )
        fields = hop.fields("revisit" if same else "response", response_id, request_id)
        if same is not None:
            response = _revisit_record(current.warc, hop, digest, same, http_response, fields)
        else:
            response = _response_record(
                current.warc, hop, digest, response_body, truncated, http_response, fields
            )
        request = current.warc.create_warc_record(
            hop.target_uri,
            "request",
            payload=BytesIO(request_body),
            length=len(request_body),
            http_headers=request_message(url, method, request_headers, protocol, request_head),
            warc_headers_dict=hop.fields("request", request_id, response_id),
        )
        # Response first, then the request naming it in WARC-Concurrent-To: the order
        # warcio, pywb and Heritrix write, and the one cdxj-indexer pairs for POST keys.
        locators = self.files.append(response, request)
        return _exchange_result(hop, (response_id, request_id), request, locators, digest, same)

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

    def write_resource(
        self,
        target_uri: str,
        block: bytes,
        content_type: str,
        date: datetime | None = None,
        concurrent_to: str | None = None,
    ) -> WrittenRecord:
        """A ``resource`` record holding ``block`` as it is: what a browser made of a page
        (a screenshot at ``urn:screenshot:<url>``, its rendered DOM at ``urn:dom:<url>``),
        ``concurrent_to`` the response record of the page it was made from."""
        return self._write_block(
            "resource", target_uri, None, date, block, content_type, concurrent_to
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
        current = self.files.for_next_write()
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
        [locator] = self.files.append(record)
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
        self.files.flush()

    def close(self) -> None:
        """Finish the current file: flush it and rename it from ``.open`` to its name."""
        self.files.close()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _revisit_record(
    warc: WARCWriter,
    hop: _Hop,
    digest: str,
    original: RevisitTarget,
    http_response: StatusAndHeaders,
    fields: dict[str, str],
) -> ArcWarcRecord:
    # identical-payload-digest: the payload is the original's, named by WARC-Refers-To
    return warc.create_revisit_record(
        hop.target_uri,
        digest,
        original.target_uri,
        original.warc_date,
        http_headers=http_response,
        warc_headers_dict={**fields, "WARC-Refers-To": original.record_id},
    )


def _response_record(
    warc: WARCWriter,
    hop: _Hop,
    digest: str,
    body: bytes,
    truncated: str | None,
    http_response: StatusAndHeaders,
    fields: dict[str, str],
) -> ArcWarcRecord:
    # set here so warcio does not hash the body a second time
    fields = {**fields, "WARC-Payload-Digest": digest}
    if truncated:
        fields["WARC-Truncated"] = truncated
    return warc.create_warc_record(
        hop.target_uri,
        "response",
        payload=BytesIO(body),
        length=len(body),
        http_headers=http_response,
        warc_headers_dict=fields,
    )


def _exchange_result(
    hop: _Hop,
    ids: tuple[str, str],
    request: ArcWarcRecord,
    locators: list[Locator],
    digest: str,
    revisit_of: RevisitTarget | None,
) -> ExchangeResult:
    """What the caller learns of the hop's two records: (response, request) ``ids`` and
    ``locators``, in the order they were written."""
    (response_id, request_id), (response_locator, request_locator) = ids, locators
    revisit = revisit_of is not None
    return ExchangeResult(
        request=WrittenRecord(
            request_id,
            "request",
            hop.target_uri,
            hop.date,
            request_locator,
            request.rec_headers.get_header("WARC-Payload-Digest"),
        ),
        response=WrittenRecord(
            response_id,
            "revisit" if revisit else "response",
            hop.target_uri,
            hop.date,
            response_locator,
            digest,
            revisit,
        ),
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
