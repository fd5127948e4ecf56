"""Records as stored: exact header bytes, payload streamed, content-coding undone.

What ``archive cat``, ``reindex`` and the viewer need to show a record byte for byte
or its payload the way the crawl's extraction saw it.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.limitreader import LimitReader
from warcio.statusandheaders import (
    StatusAndHeaders,
    StatusAndHeadersParser,
    StatusAndHeadersParserException,
)

from archive.warc.files import Locator, open_warc

# A header block longer than this is not one we wrote: stop rather than read a whole file.
_MAX_HEAD = 1 << 20
#: What reading damaged or foreign bytes as a record can raise.
READ_ERRORS = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    EOFError,
    OSError,
    ValueError,
    zlib.error,
)


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


def header_values(headers: StatusAndHeaders | None, name: str) -> list[str]:
    if headers is None:
        return []
    return [value for key, value in headers.headers if key.lower() == name.lower()]


def last_header(headers: StatusAndHeaders | None, name: str) -> str | None:
    # Scrapy's Headers.get returns the last of repeated headers: read them as it did.
    values = header_values(headers, name)
    return values[-1] if values else None


# -- payload decoding, as Scrapy's HttpCompressionMiddleware does it ------------------------


def _gunzip(data: bytes) -> bytes:
    # Like scrapy.utils.gz.gunzip: a body cut at the size cap still yields what it holds.
    out = BytesIO()
    with gzip.GzipFile(fileobj=BytesIO(data)) as f:
        try:
            while chunk := f.read1(1 << 16):
                out.write(chunk)
        except (OSError, EOFError, zlib.error):
            if not out.getbuffer().nbytes:
                raise
    return out.getvalue()


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompressobj().decompress(data)
    except zlib.error:  # raw deflate, as some Microsoft servers send it
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data)


def _decoders() -> dict[str, Callable[[bytes], bytes]]:
    decoders: dict[str, Callable[[bytes], bytes]] = {
        "gzip": _gunzip,
        "x-gzip": _gunzip,
        "deflate": _inflate,
    }
    try:
        import brotli

        def _unbrotli(data: bytes) -> bytes:
            decompressor = brotli.Decompressor()
            # Google's Brotli calls it process(); brotlipy (pywb's dependency), which
            # installs a module of the same name, calls it decompress().
            step = getattr(decompressor, "process", None) or decompressor.decompress
            return step(data)

        decoders["br"] = _unbrotli
    except ImportError:
        pass
    try:
        try:
            from compression import zstd  # type: ignore[import-not-found]
        except ImportError:
            from backports import zstd  # type: ignore[import-not-found,no-redef]

        def _unzstd(data: bytes) -> bytes:
            out = BytesIO()
            with zstd.ZstdFile(BytesIO(data)) as f:
                try:
                    while chunk := f.read(1 << 16):
                        out.write(chunk)
                except EOFError:  # truncated: keep what there is, as Scrapy does
                    pass
            return out.getvalue()

        decoders["zstd"] = _unzstd
    except ImportError:
        pass
    return decoders


DECODERS = _decoders()


def decoded_payload(body: bytes, headers: StatusAndHeaders | None) -> bytes:
    """``body`` with its Content-Encoding undone, the way the crawler's extraction saw it:
    codings are undone last first, stopping at the first one we cannot undo."""
    codings = [
        coding.strip().lower()
        for value in header_values(headers, "Content-Encoding")
        for coding in value.split(",")
        if coding.strip()
    ]
    for coding in reversed(codings):
        decoder = DECODERS.get(coding)
        if decoder is None:
            break
        body = decoder(body)
    return body
