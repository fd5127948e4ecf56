"""Runtime configuration of the archive: settings defaults, then ``ARCHIVE_*`` env.

Every value is checked as it is read (``settings.env.CHECKS``): a bad one raises
:class:`SettingError`, whose message names the setting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from settings import base
from settings.env import SettingError, checked, overrides_from_env

__all__ = ["Config", "SettingError", "check_settings", "load_config"]


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str
    hashids_salt: str
    allow_private: bool = False
    obey_robots: bool = True
    operator: str = base.ARCHIVE_OPERATOR
    contact_url: str = base.ARCHIVE_CONTACT_URL
    viewer_url: str = base.ARCHIVE_VIEWER_URL
    wayback_api: str = base.ARCHIVE_WAYBACK_API
    wiki_server: str = base.ARCHIVE_WIKI_SERVER
    #: The wiki server's API key: never shown (a Config's repr leaves it out).
    wiki_key: str = field(default=base.ARCHIVE_WIKI_KEY, repr=False)
    warc_prefix: str = base.ARCHIVE_WARC_PREFIX
    warc_max_size: int = base.ARCHIVE_WARC_MAX_SIZE
    warc_gzip_level: int = base.ARCHIVE_WARC_GZIP_LEVEL
    max_body_size: int = base.ARCHIVE_MAX_BODY_SIZE
    requisites: bool = base.ARCHIVE_REQUISITES
    requisites_max: int = base.ARCHIVE_REQUISITES_MAX
    requisites_max_bytes: int = base.ARCHIVE_REQUISITES_MAX_BYTES
    extract_workers: int = base.ARCHIVE_EXTRACT_WORKERS
    extract_memory: int = base.ARCHIVE_EXTRACT_MEMORY
    extract_timeout: float = base.ARCHIVE_EXTRACT_TIMEOUT
    extract_max_input: int = base.ARCHIVE_EXTRACT_MAX_INPUT
    extract_max_pdf_pages: int = base.ARCHIVE_EXTRACT_MAX_PDF_PAGES
    defer_previews: bool = base.ARCHIVE_DEFER_PREVIEWS
    download_delay: float = base.ARCHIVE_DOWNLOAD_DELAY
    concurrency_per_host: int = base.ARCHIVE_CONCURRENCY_PER_HOST
    timeout: float = base.ARCHIVE_TIMEOUT
    refresh_days: float = base.ARCHIVE_REFRESH_DAYS
    #: days until due again, by resource type (others: ``refresh_days``)
    refresh_by_type: dict[str, float] = field(
        default_factory=lambda: dict(base.ARCHIVE_REFRESH_DAYS_BY_TYPE)
    )
    frontier_url: str = base.ARCHIVE_FRONTIER_URL
    frontier_prefix: str = base.ARCHIVE_FRONTIER_PREFIX
    frontier_lease: float = base.ARCHIVE_FRONTIER_LEASE
    worker_name: str = base.ARCHIVE_WORKER_NAME
    replay_python: str = base.ARCHIVE_REPLAY_PYTHON
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def warc_dir(self) -> Path:
        return self.home / "warcs"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def on_postgresql(self) -> bool:
        """Whether the store is a PostgreSQL database (else a SQLite file), told from its
        URL alone: without SQLAlchemy, which the crawl's process never imports."""
        return self.database_url.startswith("postgresql")

    @property
    def worker(self) -> str:
        """This process's name as a worker of a shared frontier."""
        import os
        import socket

        return self.worker_name or f"{socket.gethostname()}-{os.getpid()}"

    def with_(self, **changes: Any) -> Config:
        return replace(self, **changes)


_FIELDS = {
    "ARCHIVE_HOME": "home",
    "ARCHIVE_DATABASE_URL": "database_url",
    "ARCHIVE_HASHIDS_SALT": "hashids_salt",
    "ARCHIVE_ALLOW_PRIVATE": "allow_private",
    "ARCHIVE_OBEY_ROBOTS": "obey_robots",
    "ARCHIVE_OPERATOR": "operator",
    "ARCHIVE_CONTACT_URL": "contact_url",
    "ARCHIVE_VIEWER_URL": "viewer_url",
    "ARCHIVE_WAYBACK_API": "wayback_api",
    "ARCHIVE_WIKI_SERVER": "wiki_server",
    "ARCHIVE_WIKI_KEY": "wiki_key",
    "ARCHIVE_WARC_PREFIX": "warc_prefix",
    "ARCHIVE_WARC_MAX_SIZE": "warc_max_size",
    "ARCHIVE_WARC_GZIP_LEVEL": "warc_gzip_level",
    "ARCHIVE_MAX_BODY_SIZE": "max_body_size",
    "ARCHIVE_REQUISITES": "requisites",
    "ARCHIVE_REQUISITES_MAX": "requisites_max",
    "ARCHIVE_REQUISITES_MAX_BYTES": "requisites_max_bytes",
    "ARCHIVE_EXTRACT_WORKERS": "extract_workers",
    "ARCHIVE_EXTRACT_MEMORY": "extract_memory",
    "ARCHIVE_EXTRACT_TIMEOUT": "extract_timeout",
    "ARCHIVE_EXTRACT_MAX_INPUT": "extract_max_input",
    "ARCHIVE_EXTRACT_MAX_PDF_PAGES": "extract_max_pdf_pages",
    "ARCHIVE_DEFER_PREVIEWS": "defer_previews",
    "ARCHIVE_DOWNLOAD_DELAY": "download_delay",
    "ARCHIVE_CONCURRENCY_PER_HOST": "concurrency_per_host",
    "ARCHIVE_TIMEOUT": "timeout",
    "ARCHIVE_REFRESH_DAYS": "refresh_days",
    "ARCHIVE_REFRESH_DAYS_BY_TYPE": "refresh_by_type",
    "ARCHIVE_FRONTIER_URL": "frontier_url",
    "ARCHIVE_FRONTIER_PREFIX": "frontier_prefix",
    "ARCHIVE_FRONTIER_LEASE": "frontier_lease",
    "ARCHIVE_WORKER_NAME": "worker_name",
    "ARCHIVE_REPLAY_PYTHON": "replay_python",
}


def _mapping(value: Any) -> dict[str, Any]:
    """A dict setting as Scrapy's ``getdict`` reads it: a dict, or its JSON (``-s``)."""
    return dict(json.loads(value) if isinstance(value, str) else value)


#: How a field's value is read when it is not taken as given.
_PARSERS = {"refresh_by_type": _mapping}


def load_config(settings: Any = None, **overrides: Any) -> Config:
    """Build the config from defaults, the environment, a Scrapy ``Settings`` and overrides.

    Later sources win: ``settings/base.py`` < ``ARCHIVE_*`` env < ``settings`` < ``overrides``.
    """
    values: dict[str, Any] = {name: getattr(base, name) for name in _FIELDS}
    values.update(overrides_from_env())
    if settings is not None:
        for name in _FIELDS:
            if settings.get(name) not in (None, ""):
                values[name] = checked(name, settings.get(name), "setting ")
    kwargs = {attr: values[name] for name, attr in _FIELDS.items()}
    kwargs.update(overrides)
    for attr, parse in _PARSERS.items():
        kwargs[attr] = parse(kwargs[attr])
    home = Path(kwargs["home"]).expanduser().absolute()
    kwargs["home"] = home
    if not kwargs["database_url"]:
        kwargs["database_url"] = f"sqlite:///{home / 'archive.sqlite3'}"
    return Config(**kwargs)


def check_settings(values: dict[str, Any], source: str = "") -> dict[str, Any]:
    """``values`` (settings by name, as ``-s NAME=VALUE`` gives them) with each one the
    archive knows parsed and checked; others are returned as given. Raises
    :class:`SettingError` for the first bad one, ``source`` prefixing its name."""
    return {name: checked(name, value, source) for name, value in values.items()}
