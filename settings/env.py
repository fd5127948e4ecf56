"""The one place where ``ARCHIVE_*`` environment variables map onto settings.

Each entry names a setting and how to parse its environment value; the Scrapy
settings module and ``archive.config`` both read through here, so a variable
means the same thing to ``scrapy crawl`` and to the ``archive`` CLI.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime
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
    "ARCHIVE_WARC_GZIP_LEVEL": int,
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
    "ARCHIVE_RETRY_AFTER_MAX": float,
    "ARCHIVE_RETRY_BACKOFF": float,
    "ARCHIVE_BROWSER": _bool,
    "ARCHIVE_BROWSER_HOSTS": lambda value: host_patterns(value),
    "ARCHIVE_BROWSER_FALLBACK": _bool,
    "ARCHIVE_BROWSER_SHELL_TEXT": int,
    "ARCHIVE_BROWSER_EXECUTABLE": str,
    "ARCHIVE_BROWSER_TIMEOUT": float,
    "ARCHIVE_BROWSER_SCREENSHOT_MAX_HEIGHT": int,
    "ARCHIVE_FRONTIER_URL": str,
    "ARCHIVE_FRONTIER_PREFIX": str,
    "ARCHIVE_FRONTIER_LEASE": float,
    "ARCHIVE_WORKER_NAME": str,
    "ARCHIVE_REPLAY_PYTHON": str,
}

_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
_HOST_PATTERN = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})*")


def host_patterns(value: Any) -> tuple[str, ...]:
    """``ARCHIVE_BROWSER_HOSTS``: host patterns, comma- or space-separated (or a list),
    each ``example.org`` or ``*.example.org``; lower-cased."""
    items = re.split(r"[,\s]+", value) if isinstance(value, str) else list(value or ())
    patterns = tuple(str(item).strip().lower() for item in items if str(item).strip())
    for pattern in patterns:
        if not _HOST_PATTERN.fullmatch(pattern):
            raise ValueError(f"{pattern!r} is not a host name or *.host pattern")
    return patterns


def host_matches(host: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``host`` is one of ``patterns``: ``example.org`` matches it and its
    subdomains, ``*.example.org`` its subdomains only; ``www.`` is not special."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        base = pattern.removeprefix("*.")
        if host.endswith("." + base) or (host == base and base == pattern):
            return True
    return False


# --- what each value must be, past parsing -------------------------------------------
# A bad value is refused before anything starts (no reactor, no job row, no WARC file),
# in one line naming the setting: `archive crawl` exits 2 with it.


class SettingError(ValueError):
    """A setting's value cannot be used; the message names the setting."""


def _at_least(low: float) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int | float) and math.isfinite(v) and v >= low


def _above(low: float) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int | float) and math.isfinite(v) and v > low


def _instant(value: Any) -> bool:
    if value in (None, ""):  # unset: the wall clock
        return True
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _file_word(value: Any) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9._-]+", str(value)))


def _redis_url(value: Any) -> bool:
    """Empty (no frontier), or a URL redis-py opens: redis://, rediss:// or unix://."""
    if value in (None, ""):
        return True
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(str(value))
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    if parts.scheme == "unix":
        return bool(parts.path)
    return parts.scheme in ("redis", "rediss") and bool(parts.hostname)


def _executable(value: Any) -> bool:
    return value in (None, "") or (os.path.isfile(value) and os.access(value, os.X_OK))


def _days_by_type(value: Any) -> dict[str, float]:
    """``ARCHIVE_REFRESH_DAYS_BY_TYPE`` as ``-s`` gives it: a JSON object of day counts."""
    days = json.loads(value) if isinstance(value, str) else value
    if not isinstance(days, dict):
        raise ValueError("not a JSON object")
    return {str(k): float(v) for k, v in days.items()}


_WHOLE = "must be a whole number"
_SECONDS = "must be a number of seconds"
_SIZE = "must be a size above 0 (like 500K, 50MB, 1G)"

#: name -> (test of the parsed value, what the value must be)
CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "ARCHIVE_CONCURRENCY_PER_HOST": (_at_least(1), f"{_WHOLE}, 1 or more"),
    "ARCHIVE_DOWNLOAD_DELAY": (_at_least(0), f"{_SECONDS}, 0 or more"),
    "ARCHIVE_TIMEOUT": (_above(0), f"{_SECONDS} above 0"),
    "ARCHIVE_MAX_BODY_SIZE": (_above(0), _SIZE),
    "ARCHIVE_WARC_MAX_SIZE": (_above(0), _SIZE),
    "ARCHIVE_WARC_GZIP_LEVEL": (lambda n: 0 <= n <= 9, f"{_WHOLE} from 0 to 9"),
    "ARCHIVE_WARC_PREFIX": (_file_word, "must be letters, digits, '.', '_' or '-'"),
    "ARCHIVE_REQUISITES_MAX": (_at_least(0), f"{_WHOLE}, 0 or more"),
    "ARCHIVE_REQUISITES_MAX_BYTES": (_above(0), _SIZE),
    "ARCHIVE_RETRY_BACKOFF": (_at_least(0), f"{_SECONDS}, 0 or more"),
    "ARCHIVE_RETRY_AFTER_MAX": (_at_least(0), f"{_SECONDS}, 0 or more"),
    "ARCHIVE_REFRESH_DAYS": (_above(0), "must be a number of days above 0"),
    "ARCHIVE_REFRESH_DAYS_BY_TYPE": (
        lambda days: isinstance(days, Mapping) and all(map(_above(0), days.values())),
        'must be a JSON object of day counts above 0, like {"paper": 90}',
    ),
    "ARCHIVE_CLOCK": (_instant, "must be an ISO 8601 instant, like 2026-01-01T00:00:00Z"),
    "ARCHIVE_EXTRACT_WORKERS": (_at_least(0), f"{_WHOLE}, 0 (one per core) or more"),
    "ARCHIVE_EXTRACT_MEMORY": (_above(0), _SIZE),
    "ARCHIVE_EXTRACT_TIMEOUT": (_above(0), f"{_SECONDS} above 0"),
    "ARCHIVE_EXTRACT_MAX_INPUT": (_above(0), _SIZE),
    "ARCHIVE_EXTRACT_MAX_PDF_PAGES": (_at_least(1), f"{_WHOLE}, 1 or more"),
    "ARCHIVE_BROWSER_HOSTS": (
        lambda hosts: isinstance(hosts, tuple),
        "must be host names or *.host patterns, comma-separated (like x.com, *.example.org)",
    ),
    "ARCHIVE_BROWSER_SHELL_TEXT": (_at_least(0), f"{_WHOLE}, 0 or more"),
    "ARCHIVE_BROWSER_TIMEOUT": (_above(0), f"{_SECONDS} above 0"),
    "ARCHIVE_BROWSER_SCREENSHOT_MAX_HEIGHT": (_at_least(100), f"{_WHOLE}, 100 or more"),
    "ARCHIVE_FRONTIER_URL": (_redis_url, "must be a Redis URL, like redis://127.0.0.1:6379/0"),
    "ARCHIVE_FRONTIER_PREFIX": (_file_word, "must be letters, digits, '.', '_' or '-'"),
    "ARCHIVE_FRONTIER_LEASE": (_at_least(1), f"{_SECONDS}, 1 or more"),
    "ARCHIVE_WORKER_NAME": (
        lambda v: v == "" or _file_word(v),
        "must be letters, digits, '.', '_' or '-'",
    ),
    "ARCHIVE_REPLAY_PYTHON": (_executable, "must be the path of an executable Python"),
    # Scrapy's own, as `archive crawl` derives them from the ARCHIVE_* ones above
    "CONCURRENT_REQUESTS_PER_DOMAIN": (_at_least(1), f"{_WHOLE}, 1 or more"),
    "DOWNLOAD_DELAY": (_at_least(0), f"{_SECONDS}, 0 or more"),
    "DOWNLOAD_TIMEOUT": (_above(0), f"{_SECONDS} above 0"),
}

#: How settings that no environment variable gives are parsed when given as text (``-s``).
OPTION_PARSERS: dict[str, Callable[[str], Any]] = {
    "ARCHIVE_REFRESH_DAYS_BY_TYPE": _days_by_type,
    "CONCURRENT_REQUESTS_PER_DOMAIN": int,
    "DOWNLOAD_DELAY": float,
    "DOWNLOAD_TIMEOUT": float,
}


def checked(name: str, value: Any, source: str = "") -> Any:
    """``value`` of setting ``name``, parsed if it is text, and checked; ``source`` says
    where it came from in the message (``"environment variable "``, ``"-s "``)."""
    parse = PARSERS.get(name) or OPTION_PARSERS.get(name)
    test, must = CHECKS.get(name, (None, ""))
    parsed = value
    if isinstance(value, str) and parse is not None:
        try:
            parsed = parse(value)
        except (ValueError, OverflowError) as exc:
            raise SettingError(f"{source}{name}={value!r} is not valid: {must or exc}") from exc
    if test is not None and not test(parsed):
        raise SettingError(f"{source}{name}={value!r} is not valid: {must}")
    return parsed


def overrides_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings given by the environment, parsed and checked; unknown ``ARCHIVE_*`` names
    are ignored. A bad value raises :class:`SettingError` naming the variable."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name in PARSERS:
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        out[name] = checked(name, raw, "environment variable ")
    return out
