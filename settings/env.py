"""The one place where ``ARCHIVE_*`` environment variables map onto settings.

Each entry names a setting and how to parse its environment value; the Scrapy
settings module and ``archive.config`` both read through here, so a variable
means the same thing to ``scrapy crawl`` and to the ``archive`` CLI.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any


def _bool(value: str) -> bool:
    word = value.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected 1/true/yes/on or 0/false/no/off")


def _size(value: str) -> int:
    """Parse ``1GB``, ``500M``, ``1048576`` into bytes."""
    text = value.strip().upper().removesuffix("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


PARSERS: dict[str, Callable[[str], Any]] = {
    "ARCHIVE_HOME": str,
    "ARCHIVE_DATABASE_URL": str,
    "ARCHIVE_HASHIDS_SALT": str,
    "ARCHIVE_ALLOW_PRIVATE": _bool,
    "ARCHIVE_WARC_MAX_SIZE": _size,
    "ARCHIVE_WARC_PREFIX": str,
    "ARCHIVE_VIEWER_URL": str,
    "ARCHIVE_WAYBACK_API": str,
    "ARCHIVE_WIKI_SERVER": str,
    "ARCHIVE_WIKI_KEY": str,
    "ARCHIVE_MAX_BODY_SIZE": _size,
    "ARCHIVE_REQUISITES": _bool,
    "ARCHIVE_REQUISITES_MAX": int,
    "ARCHIVE_REQUISITES_MAX_BYTES": _size,
    "ARCHIVE_EXTRACT_WORKERS": int,
    "ARCHIVE_EXTRACT_MEMORY": _size,
    "ARCHIVE_EXTRACT_TIMEOUT": float,
    "ARCHIVE_EXTRACT_MAX_INPUT": _size,
    "ARCHIVE_EXTRACT_MAX_PDF_PAGES": int,
    "ARCHIVE_DEFER_PREVIEWS": _bool,
    "ARCHIVE_OPERATOR": str,
    "ARCHIVE_CONTACT_URL": str,
    "ARCHIVE_OBEY_ROBOTS": _bool,
    "ARCHIVE_REFRESH_DAYS": float,
    "ARCHIVE_DOWNLOAD_DELAY": float,
    "ARCHIVE_CONCURRENCY_PER_HOST": int,
    "ARCHIVE_TIMEOUT": float,
    "ARCHIVE_CLOCK": str,
    "ARCHIVE_JOB_ID": int,
    "ARCHIVE_RETRY_AFTER_MAX": float,
    "ARCHIVE_RETRY_BACKOFF": float,
}


def overrides_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings given by the environment, parsed; unknown ``ARCHIVE_*`` names are ignored."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, parse in PARSERS.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            out[name] = parse(raw)
        except ValueError as exc:
            raise ValueError(f"environment variable {name}={raw!r} is not valid: {exc}") from exc
    return out
