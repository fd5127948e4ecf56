"""The CDXJ index pywb replays from, and the addresses of mementos in it.

The WARC files stay where the crawler wrote them; pywb reads them in place (its
``archive_paths`` is the WARC folder) through one sorted ``index.cdxj``. Each finished
WARC file is indexed once into its own part, by cdxj-indexer (the export's indexer
too; pywb reads its CDXJ), and the parts are merged whenever the set of files changes.
Files still being written (``.open``) are left out: their name changes when they close,
which would leave the index pointing at nothing.
"""

from __future__ import annotations

import fcntl
import heapq
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from warcio.timeutils import iso_date_to_timestamp

from archive.warc.files import WARC_SUFFIX
from archive.warc.reader import write_cdxj

log = logging.getLogger(__name__)

COLLECTION = "archive"
INDEX_NAME = "index.cdxj"
_MANIFEST = "manifest.json"


def memento_path(url: str, warc_date: str, modifier: str = "") -> str:
    """The replay server's path of ``url`` as captured at ``warc_date``.

    No modifier: rewritten for replay (links, scripts and styles point back into the
    archive). ``id_``: the archived payload exactly as it was on the wire.
    """
    return f"/{COLLECTION}/{iso_date_to_timestamp(warc_date)}{modifier}/{url.split('#', 1)[0]}"


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


class ReplayIndex:
    """One merged CDXJ index over every finished WARC file in ``warc_dir``."""

    def __init__(self, warc_dir: Path, state_dir: Path) -> None:
        self.warc_dir = warc_dir
        self.state_dir = state_dir
        self.parts_dir = state_dir / "parts"
        self.path = state_dir / INDEX_NAME
        self._seen: dict[str, list[int]] | None = None

    def _current(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        if not self.warc_dir.is_dir():
            return found
        for entry in os.scandir(self.warc_dir):
            if entry.name.endswith(WARC_SUFFIX) and entry.is_file():
                try:
                    found[entry.name] = _stamp(Path(entry.path))
                except FileNotFoundError:  # renamed or removed while we looked
                    continue
        return found

    def refresh(self) -> bool:
        """Bring the index up to date with the WARC folder; True when it was rebuilt."""
        current = self._current()
        if current == self._seen and self.path.exists():
            return False
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        with _locked(self.state_dir / ".lock"):
            manifest_path = self.state_dir / _MANIFEST
            try:
                built = json.loads(manifest_path.read_text())
            except (FileNotFoundError, ValueError):
                built = {}
            if built == current and self.path.exists():
                self._seen = current
                return False
            started = time.perf_counter()
            for name, stamp in current.items():
                if built.get(name) != stamp or not self._part(name).exists():
                    self._index_file(name)
            for stale in set(built) - set(current):
                self._part(stale).unlink(missing_ok=True)
            self._merge(sorted(current))
            _write_atomically(manifest_path, json.dumps(current, sort_keys=True).encode())
            self._seen = current
            log.info(
                "replay index: %d WARC files in %.2f s", len(current), time.perf_counter() - started
            )
            return True

    def _part(self, name: str) -> Path:
        return self.parts_dir / f"{name}.cdxj"

    def _index_file(self, name: str) -> None:
        def damaged(path: Path, exc: Exception) -> None:  # the records before it are kept
            log.warning("replay index: %s is damaged after some records: %s", path.name, exc)

        tmp = self._part(name).with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            write_cdxj([self.warc_dir / name], out, on_damage=damaged)
        os.replace(tmp, self._part(name))

    def _merge(self, names: list[str]) -> None:
        tmp = self.path.with_suffix(".tmp")
        with ExitStack() as stack, open(tmp, "wb") as out:
            parts = [stack.enter_context(open(self._part(n), "rb")) for n in names]
            last = None
            for line in heapq.merge(*parts):
                if line != last:
                    out.write(line)
                    last = line
            out.flush()
            os.fsync(out.fileno())
        # pywb opens the index afresh for every lookup, so a rename swaps it atomically.
        os.replace(tmp, self.path)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Two viewers on one ARCHIVE_HOME must not write the same parts at once."""
    with open(path, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
