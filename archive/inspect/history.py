"""A resource's captures over time, and what changed in its text between two of them."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from archive.store.models import Capture, Resource


def capture_history(session: Session, resource: Resource) -> Sequence[Capture]:
    """The resource's captures, newest first, without their text.

    ``full_text`` may be 5 MB a capture; a listing never needs it, so it is deferred.
    """
    return session.scalars(
        select(Capture)
        .where(Capture.resource_id == resource.resource_id)
        .options(defer(Capture.full_text), defer(Capture.full_text_preview))
        .order_by(Capture.fetched_at.desc(), Capture.capture_id.desc())
    ).all()


def last_text_captures(session: Session, resource: Resource, count: int = 2) -> list[Capture]:
    """The newest ``count`` captures that have extracted text, oldest of them first."""
    rows = session.scalars(
        select(Capture)
        .where(Capture.resource_id == resource.resource_id, Capture.full_text.is_not(None))
        .order_by(Capture.fetched_at.desc(), Capture.capture_id.desc())
        .limit(count)
    ).all()
    return list(reversed(rows))


def capture_label(capture: Capture) -> str:
    return f"{capture.capture_id} {capture.fetched_at:%Y-%m-%d %H:%M:%S} UTC"


def text_diff(a: Capture, b: Capture, context: int = 3) -> str:
    """Unified diff of two captures' extracted text; empty when the texts are the same."""
    lines = difflib.unified_diff(
        (a.full_text or "").splitlines(),
        (b.full_text or "").splitlines(),
        fromfile=capture_label(a),
        tofile=capture_label(b),
        n=context,
        lineterm="",
    )
    return "\n".join(lines)


def outcome(capture: Capture) -> str:
    """``HTTP 200`` or the error class of a failed attempt."""
    if capture.http_status is not None:
        return f"HTTP {capture.http_status}"
    return capture.error_class or "error"


def history_json(capture: Capture) -> dict[str, Any]:
    return {
        "capture_id": capture.capture_id,
        "fetched_at": capture.fetched_at.isoformat(),
        "http_status": capture.http_status,
        "error_class": capture.error_class,
        "final_url": capture.final_url,
        "payload_length": capture.payload_length,
        "content_length": capture.content_length,
        "is_revisit": capture.is_revisit,
        "text_changed": capture.text_changed,
        "change_size": capture.change_size,
        "fetch_method": capture.fetch_method,
    }
