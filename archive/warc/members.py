"""Gzip members of a ``.warc.gz`` file, found by decompressing, not by trusting headers.

Each record is its own gzip member, so a member that ends (zlib reaches the end of the
deflate stream and its CRC32/ISIZE trailer checks out) is a record written in full. This
is the ground truth for crash repair and locator checks: warcio's ArchiveIterator reads
a torn final member as a short record without complaint, since it never asks whether the
gzip stream actually ended.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b\x08"

_READ_SIZE = 1 << 16
# Output is thrown away, but a small compressed chunk can inflate a thousandfold (a run
# of zeros), so inflate in bounded steps to keep memory flat.
_MAX_OUTPUT = 1 << 20


def _gzip_decompressor() -> zlib._Decompress:
    return zlib.decompressobj(16 + zlib.MAX_WBITS)


def _inflate(decompressor: zlib._Decompress, data: bytes) -> None:
    while data and not decompressor.eof:
        decompressor.decompress(data, _MAX_OUTPUT)
        data = decompressor.unconsumed_tail


def iter_members(fh: BinaryIO, start: int = 0) -> Iterator[tuple[int, int]]:
    """``(offset, length)`` of each complete gzip member from ``start``.

    Stops silently at the end of the file or at the first byte that does not begin a
    complete, valid member (a torn tail, zeros, garbage): the caller compares the end of
    the last member with the file size to tell a clean file from a damaged one. The
    caller may use ``fh`` between items; each read seeks to where this scan left off.
    """
    offset = read_at = start
    pending = b""
    while True:
        if not pending:
            fh.seek(read_at)
            pending = fh.read(_READ_SIZE)
            read_at += len(pending)
        data, pending = pending, b""
        if not data:
            return
        decompressor = _gzip_decompressor()
        length = 0
        while True:
            try:
                _inflate(decompressor, data)
            except zlib.error:
                return
            if decompressor.eof:
                pending = decompressor.unused_data
                length += len(data) - len(pending)
                yield offset, length
                offset += length
                break
            length += len(data)
            fh.seek(read_at)
            data = fh.read(_READ_SIZE)
            read_at += len(data)
            if not data:
                return  # the file ends inside this member


def member_is_complete(fh: BinaryIO, offset: int, length: int) -> bool:
    """True when exactly ``length`` bytes at ``offset`` form one whole gzip member."""
    fh.seek(offset)
    decompressor = _gzip_decompressor()
    remaining = length
    try:
        while remaining > 0:
            data = fh.read(min(_READ_SIZE, remaining))
            if not data:
                return False
            remaining -= len(data)
            _inflate(decompressor, data)
            if decompressor.eof:
                return remaining == 0 and not decompressor.unused_data
    except zlib.error:
        return False
    return False


def find_magic(fh: BinaryIO, start: int) -> Iterator[int]:
    """Offsets from ``start`` on where a gzip member could begin (``fh`` may be used
    between items)."""
    read_at = start
    carry = b""
    while True:
        fh.seek(read_at)
        data = fh.read(_READ_SIZE)
        if not data:
            return
        window = carry + data
        base = read_at - len(carry)
        read_at += len(data)
        index = window.find(GZIP_MAGIC)
        while index != -1:
            yield base + index
            index = window.find(GZIP_MAGIC, index + 1)
        # a tail shorter than the magic: a match straddling two reads is seen once
        carry = window[-(len(GZIP_MAGIC) - 1) :]
