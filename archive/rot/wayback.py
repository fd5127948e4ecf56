"""The Wayback Machine's copy of a page we hold no good capture of.

For a citation that broke before we ever archived it well, the Internet Archive may still
have a copy: its availability API (https://archive.org/help/wayback_api.php) names the
snapshot closest to a date. ``archive report --wayback`` asks it, for those pages only, as
of when they broke. The endpoint is ARCHIVE_WAYBACK_API (any service answering the same
JSON, e.g. a local mirror); nothing is asked unless the report is run with --wayback.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

TIMEOUT = 15.0
WORKERS = 4  # a few at a time: the API is a shared public service


@dataclass(frozen=True)
class WaybackCopy:
    url: str  # the snapshot's address, web.archive.org/web/<timestamp>/<url>
    timestamp: str  # 14 digits, UTC

    @property
    def archived_at(self) -> datetime:
        return datetime.strptime(self.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


class WaybackError(RuntimeError):
    """The API could not be asked or gave no answer we can read."""


def closest_copy(
    url: str, when: datetime | None, api: str, user_agent: str | None = None
) -> WaybackCopy | None:
    """The snapshot of ``url`` closest to ``when`` that answered 2xx, or None; ``api`` is
    the availability endpoint (``Config.wayback_api``)."""
    query = {"url": url}
    if when is not None:
        query["timestamp"] = when.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    request = Request(
        f"{api}?{urlencode(query)}",
        headers={"User-Agent": user_agent or "cited-archive", "Accept": "application/json"},
    )
    try:
        with urlopen(request, timeout=TIMEOUT) as response:
            data = json.load(response)
    except (URLError, OSError, ValueError) as exc:
        raise WaybackError(f"{url}: {exc}") from exc
    closest = ((data or {}).get("archived_snapshots") or {}).get("closest") or {}
    if not closest.get("available") or not str(closest.get("status", "200")).startswith("2"):
        return None
    try:
        return WaybackCopy(str(closest["url"]), str(closest["timestamp"]))
    except KeyError as exc:
        raise WaybackError(f"{url}: the answer lacks {exc}") from exc


def closest_copies(
    wanted: Iterable[tuple[str, datetime | None]], api: str
) -> dict[str, WaybackCopy | WaybackError | None]:
    """``closest_copy`` for each (url, when), a few at a time; errors are returned, not
    raised, so that one failed lookup never costs the others."""
    from archive.warc.records import software

    def ask(item: tuple[str, datetime | None]) -> WaybackCopy | WaybackError | None:
        try:
            return closest_copy(item[0], item[1], api, software())
        except WaybackError as exc:
            return exc

    items = list(dict.fromkeys(wanted))
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return {url: found for (url, _), found in zip(items, pool.map(ask, items), strict=True)}
