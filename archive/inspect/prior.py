"""The wiki's own earlier checks of a resource (its citation-archive files), as the card
shows them: beside our captures, never among them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.store.models import PriorCheck

#: How many the text card lists (``show --json`` gives them all).
SHOWN = 10


def prior_checks(session: Session, resource_id: str) -> list[PriorCheck]:
    """The resource's prior checks, the latest first (those never made, pending, last)."""
    rows = session.scalars(select(PriorCheck).where(PriorCheck.resource_id == resource_id)).all()
    return sorted(
        rows,
        key=lambda p: (
            p.checked_at is None,
            -(p.checked_at.timestamp() if p.checked_at else 0),
            p.id,
        ),
    )


def citing(cited_by: Sequence[str], prior: Sequence[PriorCheck]) -> list[str]:
    """``cited_by`` with the footnotes the citation-archive files give: ``ai-governance [^3]``."""
    notes: dict[str, list[int]] = {}
    for check in prior:
        if check.footnote is not None and check.footnote not in notes.setdefault(check.page_id, []):
            notes[check.page_id].append(check.footnote)
    return [
        page + (" " + "".join(f"[^{n}]" for n in sorted(notes[page])) if notes.get(page) else "")
        for page in cited_by
    ]


def _answer(status: int | None) -> str:
    if status is None:
        return "no HTTP status"
    return f"HTTP {status}" if status > 0 else f"no answer (httpStatus {status})"


def prior_line(check: PriorCheck) -> str:
    """``2026-02-14 · ai-governance [^3] · HTTP 200 · verified · AI RMF | NIST``."""
    where = check.page_id + (f" [^{check.footnote}]" if check.footnote is not None else "")
    if check.checked_at is None:
        return f"  not checked · {where} · {check.status or 'pending'}"
    parts = [f"{check.checked_at:%Y-%m-%d}", where, _answer(check.http_status)]
    parts.append(check.status or "no status")
    if check.page_title:
        parts.append(check.page_title)
    if check.note:
        parts.append(f"note: {check.note}")
    return "  " + " · ".join(parts)


def prior_section(prior: Sequence[PriorCheck]) -> list[str]:
    """The card's lines for them (none when there are none)."""
    if not prior:
        return []
    lines = [f"Prior checks by the wiki: {len(prior)} (its own; not our captures, not counted)"]
    lines.extend(prior_line(check) for check in prior[:SHOWN])
    if len(prior) > SHOWN:
        lines.append(f"  ... and {len(prior) - SHOWN} earlier (show --json lists them all)")
    return lines


def prior_json(check: PriorCheck) -> dict[str, Any]:
    return {
        "page_id": check.page_id,
        "footnote": check.footnote,
        "url": check.url,
        "link_text": check.link_text,
        "claim_context": check.claim_context,
        "checked_at": check.checked_at.isoformat() if check.checked_at else None,
        "http_status": check.http_status,
        "status": check.status,
        "page_title": check.page_title,
        "content_snippet": check.content_snippet,
        "content_length": check.content_length,
        "note": check.note,
        "verified_at": check.verified_at,
        "source": check.source,
    }
