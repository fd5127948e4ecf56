"""The wiki's citation-archive files: one per wiki page (``data/citation-archive/<page>.yaml``),
listing each footnote's URL with the check the wiki made of it itself.

A file looks like::

    pageId: ai-governance
    verifiedAt: 2026-02-14
    totalCitations: 2
    verified: 1
    broken: 1
    unverifiable: 0
    citations:
      - footnote: 1
        url: https://www.nist.gov/itl/ai-risk-management-framework
        linkText: AI Risk Management Framework
        claimContext: NIST published the framework in January 2023.[^1]
        fetchedAt: 2026-02-14T10:20:31.512Z
        httpStatus: 200
        pageTitle: AI Risk Management Framework | NIST
        contentSnippet: The AI RMF is intended for voluntary use ...
        contentLength: 48213
        status: verified        # verified / broken / unverifiable / pending
        note: null

Each citation is read as a row of a resource list (its URL, ``cited_by`` the page), so it
becomes a resource or joins the one it is; the wiki's check (fetchedAt, httpStatus, status
and what it saw) is kept beside it as a prior check: shown on the card, never a capture,
never part of a link state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from archive.registry import ids
from archive.registry.urls import url_key
from archive.store.db import chunks
from archive.store.models import PriorCheck, Resource

#: Where a citation row carries the wiki's own check of it (never a field of the resource).
PRIOR_KEY = "__prior_check__"


def is_citation_archive(doc: Any) -> bool:
    """Whether a parsed file is a citation-archive file (a mapping with ``citations``)."""
    return isinstance(doc, dict) and isinstance(doc.get("citations"), list)


def citation_rows(doc: dict[str, Any]) -> list[Any]:
    """The file's citations as resource-list rows; ValueError when it names no page."""
    page = doc.get("pageId")
    if not isinstance(page, str) or not page.strip():
        raise ValueError("a citation-archive file (it has citations:) needs its pageId")
    page = page.strip()
    verified_at = _text(doc.get("verifiedAt"))
    rows: list[Any] = []
    for item in doc["citations"]:
        if not isinstance(item, dict):
            rows.append(item)  # refused, with its line, as any row that is not a mapping
            continue
        row: dict[str, Any] = {"url": item.get("url"), "cited_by": [page]}
        if "__line__" in item:
            row["__line__"] = item["__line__"]
        if _text(item.get("linkText")):
            row["title"] = _text(item["linkText"])  # a new resource's title, until a list gives one
        row[PRIOR_KEY] = _prior(item, page, verified_at)
        rows.append(row)
    return rows


def _prior(item: dict[str, Any], page: str, verified_at: str | None) -> dict[str, Any]:
    status = _text(item.get("status"))
    return {
        "page_id": page,
        "footnote": _integer(item.get("footnote")),
        "url": _text(item.get("url")),
        "link_text": _text(item.get("linkText")),
        "claim_context": _text(item.get("claimContext")),
        "checked_at": _instant(item.get("fetchedAt")),
        "http_status": _integer(item.get("httpStatus")),
        "status": status.lower() if status else None,
        "page_title": _text(item.get("pageTitle")),
        "content_snippet": _text(item.get("contentSnippet")),
        "content_length": _integer(item.get("contentLength")),
        "note": _text(item.get("note")),
        "verified_at": verified_at,
    }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _instant(value: Any) -> dt.datetime | None:
    """``fetchedAt`` as an aware UTC instant (YAML may already have made it a datetime)."""
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            when = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _key(url: str) -> str:
    try:
        return url_key(url)
    except ValueError:
        return url


def known_resources(session: Session, urls: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Which resource each cited URL is, as (resource id, stored URL), for those it is not
    by its own id: a stored resource of the same page (the same URL, else the same
    canonical key: scheme, ``www.``, trailing slash and tracking parameters aside), or an
    earlier URL of this list that is the same page."""
    keys = {url: _key(url) for url in urls}
    stored: dict[str, list[Any]] = {}
    for chunk in chunks(sorted(set(keys.values()))):
        query = select(
            Resource.resource_id, Resource.url, Resource.url_key, Resource.first_seen_at
        ).where(Resource.url_key.in_(chunk))
        for row in session.execute(query):
            stored.setdefault(row.url_key, []).append(row)
    out: dict[str, tuple[str, str]] = {}
    first_of_key: dict[str, str] = {}
    for url in urls:
        key, own = keys[url], ids.resource_id_for(url)
        if key in stored:
            best = min(
                stored[key],
                key=lambda r: (r.url != url, r.resource_id != own, r.first_seen_at, r.resource_id),
            )
            out[url] = (best.resource_id, best.url)
        elif first_of_key.setdefault(key, url) != url:
            first = first_of_key[key]
            out[url] = (ids.resource_id_for(first), first)
    return out


def record_prior_checks(
    session: Session, checks: Iterable[tuple[str, dict[str, Any]]], source: str, now: dt.datetime
) -> int:
    """Store each (resource id, prior check) not stored yet; how many were new. A check is
    the same one when resource, page, footnote, time, status and HTTP status are."""
    wanted = list(checks)
    seen: set[tuple[Any, ...]] = set()
    for chunk in chunks(sorted({rid for rid, _ in wanted})):
        rows = session.execute(
            select(
                PriorCheck.resource_id,
                PriorCheck.page_id,
                PriorCheck.footnote,
                PriorCheck.checked_at,
                PriorCheck.status,
                PriorCheck.http_status,
            ).where(PriorCheck.resource_id.in_(chunk))
        )
        seen.update(tuple(row) for row in rows)
    fresh = []
    for rid, check in wanted:
        key: tuple[Any, ...] = (rid, check["page_id"], check["footnote"], check["checked_at"])
        key += (check["status"], check["http_status"])
        if key in seen:
            continue
        seen.add(key)
        fresh.append({"resource_id": rid, **check, "source": source, "imported_at": now})
    for chunk in chunks(fresh):
        session.execute(insert(PriorCheck), chunk)
    return len(fresh)
