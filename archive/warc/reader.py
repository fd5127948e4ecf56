"""Reading records back: by locator (replay, ``archive cat``), file by file (reindex), as a
CDXJ index (replay, export), and checking that a locator still points at the record the
store expects (``archive verify``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.limitreader import LimitReader
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeadersParserException

from archive.warc.files import Locator, open_warc
from archive.warc.members import find_magic, iter_members, member_is_complete

#: What reading damaged or foreign bytes as a record can raise; every reader catches these.
READ_ERRORS: tuple[type[Exception], ...] = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    EOFError,
    OSError,
    ValueError,
    zlib.error,
)

# Records up to this size stay in memory while iterating; larger ones spill to disk.
_SPOOL_SIZE = 1 << 20
# What warcio appends after every record block (WARC/1.1 §4: two CRLFs).
_RECORD_END = b"\r\n\r\n"


def _loader() -> ArcWarcRecordLoader:
    # verify_http off: a status line we did not write (another tool's WARC) should not
    # stop a read; arc2warc off: our files are WARC only.
    return ArcWarcRecordLoader(verify_http=False, arc2warc=False)


def record_at(fh: BinaryIO, offset: int, length: int, check_digests: bool = False) -> ArcWarcRecord:
    """Parse the record in the gzip member at ``offset``; its streams read from ``fh``."""
    fh.seek(offset)
    stream = DecompressingBufferedReader(LimitReader(fh, length))
    return _loader().parse_record_stream(stream, known_format="warc", check_digests=check_digests)


@contextmanager
def read_record(directory: Path, locator: Locator) -> Iterator[ArcWarcRecord]:
    """The record a locator points at, for the duration of the ``with`` block.

    Streaming: headers are parsed, the payload is read from the file as the caller reads
    ``record.content_stream()`` (decoded) or ``record.raw_stream`` (as stored).
    """
    with open_warc(directory, locator.filename) as fh:
        yield record_at(fh, locator.offset, locator.length)


def iter_records(path: Path) -> Iterator[tuple[ArcWarcRecord, int, int]]:
    """Every record of a WARC file with the offset and length of its gzip member.

    The length is only known once a record has been read to its end, so each record's
    remaining stream is spooled (memory, then disk) before it is yielded; the record's
    ``raw_stream`` and ``content_stream()`` read the spool and stay valid until the next
    item. Meant for finished or repaired files: a ``.open`` file may end in a torn record.
    """
    with open(path, "rb") as fh:
        records = ArchiveIterator(fh)
        for record in records:
            with tempfile.SpooledTemporaryFile(_SPOOL_SIZE) as spool:
                shutil.copyfileobj(record.raw_stream, spool)
                spool.seek(0)
                offset, length = records.get_record_offset(), records.get_record_length()
                record.raw_stream = spool
                yield record, offset, length


def write_cdxj(
    paths: Iterable[Path],
    out: IO[str],
    on_damage: Callable[[Path, ArchiveLoadFailed], None] | None = None,
) -> None:
    """The sorted CDXJ index of ``paths`` (``filename``: each file's name), by cdxj-indexer,
    with POST bodies appended to their urlkeys as pywb looks them up.

    One indexer for the replay and the export: cdxj-indexer is a core dependency (pywb is
    the optional ``replay`` extra) and pywb reads its CDXJ. A file damaged after some
    records raises, unless ``on_damage`` is given: then it is told, and the index keeps
    the records before the damage.
    """
    from cdxj_indexer.main import CDXJIndexer, SortingWriter

    # Sorted here rather than by the indexer, so the lines of a damaged file are kept.
    lines = SortingWriter(out)
    for path in paths:
        try:
            CDXJIndexer(lines, [str(path)], post_append=True).process_all()
        except ArchiveLoadFailed as exc:
            if on_damage is None:
                raise
            on_damage(path, exc)
    lines.flush()


@dataclass(frozen=True)
class LocatorCheck:
    ok: bool
    problem: str | None = None

    def __bool__(self) -> bool:
        return self.ok


def record_problem(
    fh: BinaryIO, offset: int, length: int, record_id: str | None = None
) -> str | None:
    """Why the bytes at ``offset`` are not one complete, intact record; None if they are."""
    if not member_is_complete(fh, offset, length):
        return f"no complete gzip member of {length} bytes at offset {offset}"
    try:
        fh.seek(offset)
        stream = DecompressingBufferedReader(LimitReader(fh, length))
        record = _loader().parse_record_stream(stream, known_format="warc", check_digests=True)
        while record.raw_stream.read(1 << 16):
            pass
        trailer = stream.read()
    except READ_ERRORS as exc:
        return f"unreadable record at offset {offset}: {exc}"
    if getattr(record.raw_stream, "limit", 0) != 0:
        return f"record at offset {offset} is shorter than its Content-Length"
    if trailer != _RECORD_END:
        return f"record at offset {offset} is not followed by exactly two CRLFs"
    if record.digest_checker.passed is False:
        return f"record at offset {offset}: " + "; ".join(record.digest_checker.problems)
    found = record.rec_headers.get_header("WARC-Record-ID")
    if record_id is not None and found != record_id:
        return f"record at offset {offset} is {found}, not {record_id}"
    return None


def verify_locator(directory: Path, locator: Locator, record_id: str) -> LocatorCheck:
    """Whether ``locator`` holds the complete, digest-sound record ``record_id``."""
    try:
        fh = open_warc(directory, locator.filename)
    except FileNotFoundError as exc:
        return LocatorCheck(False, str(exc))
    with fh:
        problem = record_problem(fh, locator.offset, locator.length, record_id)
    return LocatorCheck(problem is None, problem)


@dataclass(frozen=True)
class Damage:
    """Bytes from ``start`` that are not whole gzip members holding sound records; sound
    ones resume at ``end`` (the file size when none do)."""

    start: int
    end: int


def next_sound_record(fh: BinaryIO, start: int) -> int | None:
    """Offset of the first sound record after ``start``: a gzip magic where a complete
    member holding a sound record begins (a magic inside compressed data will not
    inflate to one). None when there is none."""
    for offset in find_magic(fh, start + 1):
        for member_offset, length in iter_members(fh, offset):
            if record_problem(fh, member_offset, length) is None:
                return member_offset
            break
    return None


def walk_members(fh: BinaryIO) -> Iterator[tuple[int, int] | Damage]:
    """``(offset, length)`` of every complete gzip member, and a Damage for each stretch
    that is not; reading resumes after damage.

    Unlike warcio's ArchiveIterator, which stops at the first bad member, this loses
    only the damaged records: each record is its own member, so the next one can be
    found again. ``fh`` may be used between items.
    """
    size = os.fstat(fh.fileno()).st_size
    offset = 0
    while offset < size:
        end = offset
        for member_offset, length in iter_members(fh, offset):
            yield member_offset, length
            end = member_offset + length
        if end >= size:
            return
        resume = next_sound_record(fh, end)
        yield Damage(end, size if resume is None else resume)
        if resume is None:
            return
        offset = resume
