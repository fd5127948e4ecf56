"""One crawl at a time per store: an advisory lock file under ARCHIVE_HOME.

``flock`` is released by the kernel when the holder dies, even by SIGKILL, so a
killed crawl never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Busy(RuntimeError):
    """Another crawl holds the store's lock."""


@contextmanager
def crawl_lock(home: Path, wait: bool = False, poll: float = 0.5) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "crawl.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    holder = path.read_text().strip() or "another process"
                    raise Busy(
                        f"another crawl is running on {home} ({holder}); "
                        "wait for it, or pass --wait to queue behind it"
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
