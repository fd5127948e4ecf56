"""Records as stored: exact header bytes, payload streamed, content-coding undone.

What ``archive cat``, ``reindex`` and the viewer need to show a record byte for byte
or its payload the way the crawl's extraction saw it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.limitreader import LimitReader
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser

from archive.warc.codings import MAX_DECODED, DecodedTooLarge, content_codings, decode
from archive.warc.files import Locator, open_warc
from archive.warc.reader import READ_ERRORS

__all__ = [
    "READ_ERRORS",
    "StoredRecord",
    "TooLargeToDecode",
    "Undecodable",
    "decoded_payload",
    "open_stored",
    "raw_record",
    "read_payload",
]

# A header block longer than this is not one we wrote: stop rather than read a whole file.
_MAX_HEAD = 1 << 20


# -- a stored record, split into its parts ---------------------------------------------


@dataclass
class StoredRecord:
    """One record as stored: exact header bytes, and the payload as a stream."""

    warc_head: bytes
    warc_headers: StatusAndHeaders
    #: the HTTP message's head (status line and headers); b"" for non-HTTP records
    http_head: bytes
    http_headers: StatusAndHeaders | None
    #: the rest of the block: the HTTP payload as stored (content-coding kept)
    payload: BinaryIO


def _read_head(stream: Any) -> bytes:
    lines = []
    size = 0
    while True:
        line = stream.readline()
        lines.append(line)
        size += len(line)
        if line in (b"\r\n", b"\n", b"") or size > _MAX_HEAD:
            return b"".join(lines)


@contextmanager
def open_stored(directory: Path, locator: Locator) -> Iterator[StoredRecord]:
    """The record at ``locator``, its heads read byte for byte and its payload streamed.

    warcio's parsed headers are not enough to show a record as stored: it decodes header
    bytes as UTF-8 when they happen to be valid UTF-8, while the writer stores wire bytes.
    """
    with open_warc(directory, locator.filename) as fh:
        fh.seek(locator.offset)
        stream = DecompressingBufferedReader(LimitReader(fh, locator.length))
        warc_head = _read_head(stream)
        warc_headers = StatusAndHeadersParser([], verify=False).parse(BytesIO(warc_head))
        length = int(warc_headers.get_header("Content-Length") or 0)
        block = LimitReader(stream, length)
        http_head, http_headers = b"", None
        if (warc_headers.get_header("Content-Type") or "").startswith("application/http"):
            http_head = _read_head(block)
            http_headers = StatusAndHeadersParser([], verify=False).parse(BytesIO(http_head))
        yield StoredRecord(warc_head, warc_headers, http_head, http_headers, block)


def raw_record(directory: Path, locator: Locator) -> Iterator[bytes]:
    """The record at ``locator`` exactly as stored (its gzip member inflated), in chunks."""
    with open_warc(directory, locator.filename) as fh:
        fh.seek(locator.offset)
        stream = DecompressingBufferedReader(LimitReader(fh, locator.length))
        while chunk := stream.read(1 << 16):
            yield chunk


class Undecodable(ValueError):
    """A payload whose Content-Encoding cannot be undone; ``stored`` is its body as stored."""

    def __init__(self, stored: bytes, cause: Exception) -> None:
        super().__init__(str(cause))
        self.stored = stored


class TooLargeToDecode(Undecodable):
    """A payload whose Content-Encoding, undone, would pass the cap (a decompression bomb,
    or a body too large to read whole): it is not decoded."""


def read_payload(
    directory: Path,
    locator: Locator,
    original: Locator | None = None,
    max_size: int = MAX_DECODED,
) -> bytes:
    """The payload of the response or revisit at ``locator``, decoded: a revisit's is the
    payload stored at ``original`` (the response it repeats), decoded per the revisit's
    own Content-Encoding, as the crawler decoded the body it handed to extraction.

    Raises Undecodable (one of READ_ERRORS) when the coding cannot be undone, and its
    TooLargeToDecode when undoing it would give more than ``max_size`` bytes."""
    with open_stored(directory, locator) as stored:
        headers = stored.http_headers
        body = stored.payload.read() if original is None else None
    if body is None:
        assert original is not None
        with open_stored(directory, original) as source:
            body = source.payload.read()
    try:
        return decoded_payload(body, headers, max_size)
    except DecodedTooLarge as exc:
        raise TooLargeToDecode(body, exc) from exc
    except Exception as exc:  # any decoder's own error (brotli.error, zlib.error, ...)
        raise Undecodable(body, exc) from exc


def header_values(headers: StatusAndHeaders | None, name: str) -> list[str]:
    if headers is None:
        return []
    return [value for key, value in headers.headers if key.lower() == name.lower()]


def last_header(headers: StatusAndHeaders | None, name: str) -> str | None:
    # Scrapy's Headers.get returns the last of repeated headers: read them as it did.
    values = header_values(headers, name)
    return values[-1] if values else None


# -- payload decoding: Scrapy's, the one every reader uses --------------------------------
#
# Scrapy's HttpCompressionMiddleware decoders (archive/warc/codings.py), not warcio's
# content_stream(): they made the body the crawl's extraction read, so reindex re-extracts
# the same text and `archive cat` and the viewer show it. Both keep what a body cut at the
# size cap (WARC-Truncated) holds and both read zlib and raw deflate; only Scrapy's also
# undoes x-gzip, zstd and codings applied in turn ("gzip, br"), survives a gzip member
# whose CRC is wrong, which warcio hands back as garbage, and stops at a size cap.


def decoded_payload(
    body: bytes, headers: StatusAndHeaders | None, max_size: int = MAX_DECODED
) -> bytes:
    """``body`` with its Content-Encoding undone, the way the crawler's extraction saw it:
    codings are undone last first, stopping at the first one we cannot undo. Raises
    archive.warc.codings.DecodedTooLarge past ``max_size`` decoded bytes."""
    codings = content_codings(header_values(headers, "Content-Encoding"))
    return decode(body, codings, max_size)
