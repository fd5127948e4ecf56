"""Finishing ``.open`` files whose writer died (docs/design.md §1: a torn record is cut off
before anything else reads or appends).

A writer that is killed leaves its file named ``.open`` and possibly ending in a partial
gzip member. Since records are only ever appended, damage from a crash is confined to
that tail: everything up to the end of the last complete member that holds a sound record
is kept, the rest is cut, and the file gets its final name. A bad member *followed by*
sound ones is not a crash but corruption; such a file is left alone, ``.open``, for a
person to look at, as cutting there would throw away good records.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from archive.warc.files import OPEN_SUFFIX, WARC_SUFFIX, directory_lock, lock_open_file
from archive.warc.members import iter_members
from archive.warc.reader import next_sound_record, record_problem

Action = Literal["renamed", "truncated", "removed", "in-use", "damaged"]


@dataclass(frozen=True)
class RepairReport:
    #: where the file is now (its final name, unless left ``.open`` or removed)
    path: Path
    action: Action
    #: complete records kept
    records: int = 0
    #: bytes cut from the end of the file
    bytes_cut: int = 0
    problem: str | None = None


def repair_open_files(directory: Path) -> list[RepairReport]:
    """Repair every abandoned ``*.warc.gz.open`` file in ``directory``.

    Files still locked by a live writer (in this process or another) are reported as
    ``in-use`` and not touched. A file left with no complete record (its warcinfo was
    torn) is removed.
    """
    directory = Path(directory)
    reports = (_repair(path) for path in sorted(directory.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}")))
    return [report for report in reports if report is not None]


def _repair(path: Path) -> RepairReport | None:
    """None when the file turns out to have been finished by its own writer meanwhile."""
    with directory_lock(path.parent):
        try:
            fh = open(path, "r+b")  # noqa: SIM115 - closed below, lock held until then
        except FileNotFoundError:  # finished by its writer since the directory was listed
            return None
        if not lock_open_file(fh):
            fh.close()
            return RepairReport(path, "in-use")
    with fh:
        if not _still_named(fh, path):
            return None
        return _cut_and_rename(fh, path)


def _still_named(fh: BinaryIO, path: Path) -> bool:
    # Locked only after its writer released it: if the writer renamed it first, the path
    # now names nothing (or a new file), and there is nothing left to repair.
    try:
        return os.path.samestat(os.fstat(fh.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


def _sound_end(fh: BinaryIO) -> tuple[int, int]:
    """End offset of the last complete, sound record from the start, and how many."""
    end = records = 0
    for offset, length in iter_members(fh):
        if record_problem(fh, offset, length) is not None:
            break
        end, records = offset + length, records + 1
    return end, records


def _cut_and_rename(fh: BinaryIO, path: Path) -> RepairReport:
    size = os.fstat(fh.fileno()).st_size
    end, records = _sound_end(fh)
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    if end < size and next_sound_record(fh, end) is not None:
        return RepairReport(
            path,
            "damaged",
            records,
            0,
            f"unreadable bytes at offset {end} are followed by sound records",
        )
    if records == 0:
        path.unlink()
        return RepairReport(path, "removed", 0, size, "no complete record")
    if end < size:
        fh.truncate(end)
        fh.flush()
        os.fsync(fh.fileno())
    os.rename(path, final)
    return RepairReport(final, "truncated" if end < size else "renamed", records, size - end)
