"""Validating one row of a resource list: its URL, its ids and the fields we know."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from archive.registry import ids
from archive.registry.citations import PRIOR_KEY
from archive.registry.sources import Row
from archive.registry.urls import check_url

#: The fields a resource has columns for (and a citation's prior check, kept apart): the
#: rest of a row is kept verbatim in ``meta``.
_CORE = {"id", "url", "title", "type", "tags", "cited_by", "stable_id", "refresh_days", PRIOR_KEY}
# What `archive export json` writes about our own checks (its entries carry an "archive"
# block): derived from the captures, so re-importing an export changes nothing.
_EXPORTED = {"archive", "fetch_status", "last_fetched_at"}


@dataclass
class Entry:
    """One validated input row."""

    line: int
    resource_id: str
    url: str
    fields: dict[str, Any]  # title, type, tags, cited_by when given
    stable_id: str | None
    meta: dict[str, Any]
    #: What was wrong with the row but did not keep it out (an implausible stable id).
    warnings: list[str] = field(default_factory=list)
    #: The wiki's own checks of this URL, from citation-archive files (``citations``).
    prior: list[dict[str, Any]] = field(default_factory=list)

    def absorb(self, other: Entry) -> None:
        """Take in a later row of the same resource: its values win, citations accumulate."""
        merged = {**self.fields, **other.fields}
        merged["cited_by"] = union(self.fields.get("cited_by"), other.fields.get("cited_by"))
        self.fields, self.meta = merged, {**self.meta, **other.meta}
        self.stable_id = self.stable_id or other.stable_id
        self.prior.extend(other.prior)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _string_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    raise ValueError(f"{name} must be a list of strings")


def validate(row: Row) -> Entry:
    """Turn an input row into an Entry, or raise ValueError with the reason."""
    data = row.data
    if not isinstance(data, dict):
        raise ValueError("entry is not a mapping")
    url = check_url(data.get("url"))
    given_id = data.get("id")
    if given_id is not None and given_id != "":
        rid = str(given_id)
        if not ids.VALID_RESOURCE_ID.match(rid):
            raise ValueError(f"id {rid[:80]!r} is not a valid id (letters, digits, '_.:-', ≤ 64)")
    else:
        rid = ids.resource_id_for(url)
    stable_id, warnings = _given_stable_id(data.get("stable_id"))
    fields: dict[str, Any] = {}
    for key in ("title", "type"):
        if data.get(key) not in (None, ""):
            fields[key] = str(data[key]).strip()
    for key in ("tags", "cited_by"):
        if key in data:
            fields[key] = _string_list(data[key], key)
    if data.get("refresh_days") not in (None, ""):
        days = data["refresh_days"]
        if isinstance(days, bool) or not isinstance(days, int | float | str):
            raise ValueError("refresh_days must be a number of days")
        try:
            seconds = round(float(days) * 86400)
        except ValueError:
            raise ValueError(f"refresh_days {days!r} is not a number of days") from None
        if not 3600 <= seconds <= 3650 * 86400:
            raise ValueError("refresh_days must be between 1 hour and 10 years")
        fields["refresh_seconds"] = seconds
    skip = _CORE | _EXPORTED if "archive" in data else _CORE
    meta = {str(k): _jsonable(v) for k, v in data.items() if k not in skip}
    if data.get("fetch_method") not in (None, ""):
        meta["fetch_method"] = _fetch_method(data["fetch_method"])
    prior = [data[PRIOR_KEY]] if isinstance(data.get(PRIOR_KEY), dict) else []
    return Entry(row.line, rid, url, fields, stable_id, meta, warnings, prior)


#: How a resource may ask to be fetched: ``browser`` (headless Chromium, crawler/browser.py)
#: or ``http`` (the plain HTTP path, the default)
FETCH_METHODS = ("browser", "http")


def _fetch_method(value: Any) -> str:
    method = value.strip().lower() if isinstance(value, str) else ""
    if method not in FETCH_METHODS:
        raise ValueError(f"fetch_method {value!r} is not one of: {', '.join(FETCH_METHODS)}")
    return method


def _given_stable_id(value: Any) -> tuple[str | None, list[str]]:
    """The stable id a row gives, verbatim, when it is a plausible one (letters, digits,
    ``_``, ``-``, at most 64, with or without ``sid_``). An implausible one is set aside with
    a warning, not the row: the resource keeps, or is given, a generated ``sid_…``."""
    if value is None or value == "":
        return None, []
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is not None and ids.VALID_STABLE_ID.match(text):
        return text, []
    shown = repr(text[:80]) if text is not None else f"a {type(value).__name__}"
    return None, [
        f"stable_id {shown} ignored: not a plausible id (letters, digits, '_' or '-', at most "
        "64 characters); the resource has a generated sid_… instead"
    ]


def union(old: list[str] | None, new: list[str] | None) -> list[str]:
    out = list(old or [])
    out.extend(v for v in (new or []) if v not in out)
    return out
