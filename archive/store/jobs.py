"""Crawl jobs in the store: one row per run, opened here and closed by the crawl."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.store.db import Store
from archive.store.models import Job


def start_job(
    store: Store,
    settings: dict[str, Any],
    now: datetime | None = None,
    shared: bool = False,
    pid: int | None = None,
) -> int:
    """A new job row. Call with the crawl lock held: any job still marked running
    then belongs to a crawl that was killed, and is marked interrupted. A worker of a
    shared crawl (``shared``) holds only its own lock: the others' jobs are theirs. ``pid``:
    the crawl's process (this one's unless said), named to whoever finds the store busy."""
    now = now or datetime.now(UTC)
    with store.session() as s:
        running = select(Job).where(Job.status == "running")
        for stale in [] if shared else s.scalars(running):
            stale.status = "interrupted"
            stale.finished_at = stale.finished_at or now
            stale.message = "the crawl process ended without closing its job (killed?)"
        job = Job(
            started_at=now,
            status="running",
            host=socket.gethostname(),
            pid=pid or os.getpid(),
            settings=settings,
        )
        s.add(job)
        s.flush()
        return job.id


def finish_job(
    s: Session,
    job_id: int,
    status: str,
    message: str | None,
    counts: dict[str, int],
    at: datetime,
) -> None:
    """Close the job row in ``s``: how the crawl ended, why (if it did not finish), and
    what it counted."""
    job = s.get(Job, job_id)
    if job is not None:
        job.status, job.message, job.counts = status, message, dict(counts)
        job.finished_at = job.finished_at or at
