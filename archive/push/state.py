"""What a wiki's server has acknowledged (the ``wiki_pushes`` table), and one push at a
time per archive."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.export.citation_content import ContentRow
from archive.store.models import WikiPush


class Busy(RuntimeError):
    """Another push holds the archive's push lock."""


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def acknowledged(session: Session, server: str) -> dict[str, str]:
    """URL hash -> the hash of the row the server last acknowledged for it."""
    query = select(WikiPush.url_hash, WikiPush.row_hash).where(WikiPush.server == server)
    return {h: row for h, row in session.execute(query)}


def mark_pushed(session: Session, server: str, row: ContentRow, now: datetime) -> None:
    """Record that ``server`` acknowledged ``row``, as it was sent."""
    session.merge(
        WikiPush(
            server=server,
            url_hash=url_hash(row.url),
            url=row.url,
            resource_id=row.resource_id,
            capture_id=row.capture_id,
            row_hash=row.row_hash,
            content_hash=row.body.get("contentHash"),
            pushed_at=now,
        )
    )


@contextmanager
def push_lock(home: Path) -> Iterator[None]:
    """Hold ``$ARCHIVE_HOME/push.lock`` (released by the system if the holder dies), or
    raise Busy."""
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / "push.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"another push is running on {home}; try again when it is done") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
