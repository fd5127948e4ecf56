"""What a crawl's recorder opens, and the crawl's clock: sent to the recorder process
pickled, so both processes read the same instants and the same opening."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from archive.config import Config


@dataclass(frozen=True)
class Reading:
    """One moment, as the WARC and the store each tell it."""

    #: the wall clock: a record's WARC-Date, whatever the crawl clock says
    wall: datetime
    #: the crawl's clock at the same moment: a capture's fetched_at, the link-state times
    crawl: datetime
    #: for durations, which neither clock may give (either can jump)
    monotonic: float


class Clock:
    """The crawl's time. ``ARCHIVE_CLOCK=2026-01-01T00:00:00Z`` starts it at that instant
    (it then runs at the normal pace), so schedules can be tested and replayed over
    weeks without waiting; unset, it is the wall clock."""

    def __init__(self, start: str | None) -> None:
        self.start = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.reading().crawl

    def reading(self) -> Reading:
        """Both clocks read at once, so that a capture's fetched_at and its records'
        WARC-Date name the same instant (equal unless ``ARCHIVE_CLOCK`` shifts the crawl)."""
        monotonic, wall = time.monotonic(), datetime.now(UTC)
        if self.start is None:
            return Reading(wall, wall, monotonic)
        return Reading(wall, self.start + timedelta(seconds=monotonic - self._t0), monotonic)


@dataclass(frozen=True)
class Opening:
    """What the recorder process opens for a crawl (sent to it pickled): the store, the
    crawl's job row and the WARC files, whose warcinfo says how they were captured."""

    config: Config
    #: the new job row's settings (what the crawl was asked), and when it started
    job: dict[str, Any]
    started_at: datetime
    #: the crawl's process, named in its job row (who holds the crawl lock)
    pid: int
    user_agent: str
    obey_robots: bool
