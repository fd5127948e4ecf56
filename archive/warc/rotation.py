"""The files a writer appends to: ``.open`` names, rotation by size, all-or-nothing appends.

A file is ``<name>.open`` (locked) while written and renamed to ``<name>`` when finished;
it starts with its warcinfo record. Each append hands its records to the operating system
before it returns, or cuts the file back so that it never holds a torn record.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from isal import isal_zlib
from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import GzippingWrapper, WARCWriter

from archive.warc.files import Locator, directory_lock, lock_open_file, open_name, warc_filename
from archive.warc.records import WARC_VERSION

#: The levels ISA-L compresses at; above them, zlib's.
ISAL_LEVELS = range(0, 4)


class _Gzip(GzippingWrapper):
    """One gzip member at ``level``. Levels 0-3 are ISA-L's (python-isal): level 2, the
    default, compresses a 200 KB page in about 0.5 ms where zlib's default level 6 takes
    5.5 ms, for files about 15 % larger; compression is most of a crawl's cost per page
    after the download. 4-9 are zlib's, as gzip(1), wget and Heritrix use (6). warcio's
    own wrapper always uses zlib's 9. Either way the output is plain gzip."""

    def __init__(self, out: BinaryIO, level: int) -> None:
        codec = isal_zlib if level in ISAL_LEVELS else zlib
        self.compressor = codec.compressobj(level, codec.DEFLATED, codec.MAX_WBITS + 16)
        self.out = out


class _GzipMemberWriter(WARCWriter):
    """warcio's writer, each record its own gzip member (made by ``_Gzip``)."""

    def __init__(self, out: BinaryIO, level: int) -> None:
        super().__init__(out, gzip=False, warc_version=WARC_VERSION)
        self.level = level

    def write_record(self, record: ArcWarcRecord, params: object = None) -> None:
        self._write_warc_record(_Gzip(self.out, self.level), record)


@dataclass
class OpenFile:
    filename: str  # the final name, as locators give it
    path: Path  # the ``.open`` path while being written
    fh: BinaryIO
    warc: WARCWriter
    warcinfo_id: str = ""


class RotatingFiles:
    """The sequence of files one writer fills, each closed once it passes ``max_size``.

    ``warcinfo`` gives the fields of each new file's warcinfo record, asked when it opens.
    """

    def __init__(
        self,
        directory: Path,
        prefix: str,
        max_size: int,
        hostname: str,
        fsync: bool,
        warcinfo: Callable[[], dict[str, str]],
        gzip_level: int,
    ) -> None:
        self.directory = directory
        self.gzip_level = gzip_level
        self.prefix = prefix
        self.max_size = max_size
        self.hostname = hostname
        self.fsync = fsync
        self.warcinfo = warcinfo
        #: final names of the files started, oldest first
        self.filenames: list[str] = []
        self._serial = 0
        self._file: OpenFile | None = None

    @property
    def current(self) -> OpenFile | None:
        return self._file

    def for_next_write(self) -> OpenFile:
        # Rotation happens only here, between write calls, so the records of one call
        # (a request and its response) always share a file.
        if self._file is not None and self._file.fh.tell() >= self.max_size:
            self.close()
        return self._file or self._open_next()

    def _open_next(self) -> OpenFile:
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
        warc = _GzipMemberWriter(fh, self.gzip_level)
        current = OpenFile(name, path, fh, warc)
        self._file = current
        warcinfo = warc.create_warcinfo_record(name, self.warcinfo())
        current.warcinfo_id = warcinfo.rec_headers.get_header("WARC-Record-ID")
        self.append(warcinfo)
        self.filenames.append(name)
        return current

    def append(self, *records: ArcWarcRecord) -> list[Locator]:
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

    def _roll_back(self, current: OpenFile, end: int) -> None:
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

    def flush(self) -> None:
        if self._file is None:
            return
        self._file.fh.flush()
        if self.fsync:
            os.fsync(self._file.fh.fileno())

    def close(self) -> None:
        """Finish the current file, if any: flush it and rename it from ``.open``."""
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


def _fsync_directory(directory: Path) -> None:
    # A rename is durable only once the directory holding it is (POSIX leaves it open).
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
