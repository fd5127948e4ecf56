"""The wiki's snapshot JSON: one entry per resource in the wiki's own format (id, stable_id,
url, title, type, tags, the fields the wiki gave us, ``fetch_status``, ``last_fetched_at``)
plus an ``archive`` block: link state, final URL, the last good capture and its preview,
the way the wiki shows it. The wiki reads its citations' state back from this file;
``archive import`` ignores the ``archive`` block, so the file also re-imports cleanly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from archive.export.selection import Selection
from archive.inspect.card import cut_at_word, preview_block
from archive.rot.reports import capture_facts
from archive.store.models import Capture, LinkState, Resource

# The wiki's fetch_status vocabulary (ok / dead / paywall / error) for our link states.
FETCH_STATUS: dict[str, str] = {
    LinkState.ALIVE: "ok",
    LinkState.REDIRECTED: "ok",
    LinkState.PAYWALLED: "paywall",
    LinkState.GONE: "dead",
    LinkState.DEAD: "dead",
    LinkState.BLOCKED: "error",
}


def iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


# --- the wiki's snapshot ---------------------------------------------------------------------


def snapshot(session: Session, selection: Selection, full_text: bool = False) -> Iterator[dict]:
    """The selected resources as the wiki's snapshot entries (see the module doc)."""
    resources = selection.resources(session)
    latest, _ = capture_facts(session, [r.resource_id for r in resources])
    for res in resources:
        entry: dict[str, Any] = {
            "id": res.resource_id,
            "stable_id": res.stable_id,
            "url": res.url,
        }
        for key in ("title", "type"):
            if getattr(res, key):
                entry[key] = getattr(res, key)
        entry["tags"] = list(res.tags or [])
        if res.cited_by:
            entry["cited_by"] = list(res.cited_by)
        # the fields the wiki gave us, kept; ours replace its fetch status once we checked
        entry.update({k: v for k, v in (res.meta or {}).items() if k != "stable_id_aliases"})
        if res.last_checked_at is not None:
            entry["fetch_status"] = FETCH_STATUS.get(res.link_state, "error")
            entry["last_fetched_at"] = iso(res.last_checked_at)
        entry["archive"] = _archive_block(session, res, latest.get(res.resource_id), full_text)
        yield entry


def _archive_block(session: Session, res: Resource, latest: Any, full_text: bool) -> dict[str, Any]:
    """``latest``: the resource's last capture, as ``reports.capture_facts`` gives it."""
    block: dict[str, Any] = {
        "link_state": res.link_state,
        "state_since": iso(res.state_since),
        "next_check": iso(res.next_due_at),
    }
    if latest is not None and latest.final_url and latest.final_url != res.url:
        block["final_url"] = latest.final_url
    good = session.get(Capture, res.last_ok_capture_id) if res.last_ok_capture_id else None
    if good is not None:
        block["last_good_capture"] = {
            "capture_id": good.capture_id,
            "fetched_at": iso(good.fetched_at),
            "http_status": good.http_status,
            "content_type": good.content_type,
            "warc_file": good.warc_file,
            "warc_offset": good.warc_offset,
        }
        text = good.full_text or ""
        preview: dict[str, Any] = {
            # "Cached Content Preview · HTTP 200 · Fetched Apr 9, 2026 · 6 KB", as shown
            "heading": preview_block(good).split("\n", 1)[0],
            "title": good.page_title,
            "author": good.author,
            "published_date": good.published_date,
            "content_length": len(text.encode("utf-8")),
            "text": text if full_text else cut_at_word(text),
        }
        preview["truncated"] = len(preview["text"]) < len(text)
        block["preview"] = preview
    return block


def write_snapshot(entries: Iterable[dict], out: IO[str]) -> int:
    """A JSON array, one entry per line group, streamed (no whole-file buffer)."""
    count = 0
    out.write("[")
    for entry in entries:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(entry, ensure_ascii=False, indent=2))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
