"""Shared fixtures; the machinery behind them lives in tests/sites.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sites import LocalSite, standard_site
from stores import store  # noqa: F401 - the store fixture, on SQLite and PostgreSQL


@pytest.fixture
def site() -> Iterator[LocalSite]:
    """A started local web site serving ``standard_site()``; routes may be changed freely."""
    with LocalSite(standard_site()) as local:
        yield local


@pytest.fixture
def archive_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ARCHIVE_HOME, with settings that let a crawl reach the loopback site quickly."""
    # A developer's own ARCHIVE_* (a real database URL, say) must never leak into a test.
    for name in list(os.environ):
        if name.startswith("ARCHIVE_"):
            monkeypatch.delenv(name)
    home = tmp_path / "archive-home"
    home.mkdir()
    monkeypatch.setenv("ARCHIVE_HOME", str(home))
    monkeypatch.setenv("ARCHIVE_ALLOW_PRIVATE", "1")  # the test site is on 127.0.0.1
    monkeypatch.setenv("ARCHIVE_DOWNLOAD_DELAY", "0")
    monkeypatch.setenv("ARCHIVE_RETRY_BACKOFF", "0.05")
    return home
