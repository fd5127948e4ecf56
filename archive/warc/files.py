"""WARC file names: the naming rule, the ``.open`` convention, locators into files.

A file being written is named ``<name>.open`` and renamed to ``<name>`` when it is
closed (the Heritrix convention): indexers, pywb's autoindex and copy jobs then see only
finished files, and a ``.open`` file left behind marks a writer that died. Locators
always name the final file, so they stay valid across the rename.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True)
class Locator:
    """Where one record lives: the final file name, and the byte range of its gzip member."""

    filename: str
    offset: int
    length: int


def warc_filename(prefix: str, opened_at: datetime, serial: int, host: str) -> str:
    """``<prefix>-<14-digit UTC timestamp>-<5-digit serial>-<host>.warc.gz``."""
    return f"{prefix}-{opened_at:%Y%m%d%H%M%S}-{serial:05d}-{safe_host(host)}{WARC_SUFFIX}"


def safe_host(host: str | None = None) -> str:
    """The host part of a file name: only characters that are safe in any shell or URL."""
    return _UNSAFE_IN_NAME.sub("_", host or socket.gethostname()).strip("_") or "localhost"


def open_name(filename: str) -> str:
    return filename + OPEN_SUFFIX


def final_name(filename: str) -> str:
    return filename.removesuffix(OPEN_SUFFIX)


def resolve_path(directory: Path, filename: str) -> Path:
    """The file a locator names, whether it is finished or still being written.

    ``.open`` is checked first: a writer renames it to the final name but never back,
    so a file renamed between the two checks is still found under its final name.
    """
    filename = final_name(filename)
    for candidate in (directory / open_name(filename), directory / filename):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no WARC file {filename} (nor {open_name(filename)}) in {directory}")


def open_warc(directory: Path, filename: str) -> BinaryIO:
    """Open the file a locator names for reading; unlike ``resolve_path`` then ``open``,
    this cannot lose a race with the writer's rename (an open handle survives it)."""
    filename = final_name(filename)
    try:
        return open(directory / open_name(filename), "rb")  # noqa: SIM115 - caller closes
    except FileNotFoundError:
        return open(directory / filename, "rb")  # noqa: SIM115


@contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` while a name is chosen or a ``.open`` file
    is judged abandoned.

    Writers create and lock their ``.open`` file under it, so another writer never picks
    the same name in the same second, and repair never mistakes a file created a moment
    ago (not yet locked) for one whose writer died.
    """
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def lock_open_file(fh: BinaryIO) -> bool:
    """Take the lock a live writer holds on its ``.open`` file; False when it is held.

    flock locks belong to the open file, so the kernel drops them when the process that
    holds them dies by any means, SIGKILL included: a ``.open`` file nobody can lock is
    being written right now, one that can be locked was abandoned.
    """
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
