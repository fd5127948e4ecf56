"""How resources and previews are shown, the wiki's way (docs/design.md §6)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from archive.extract.requisites import RENDERINGS
from archive.inspect.history import outcome
from archive.inspect.prior import citing, prior_json, prior_section
from archive.store.models import DEFAULT_TYPE, Capture, PriorCheck, Resource

PREVIEW_CHARS = 3000


def kb(n: int) -> str:
    return f"{max(1, round(n / 1024))} KB" if n else "0 KB"


def fetched_on(when: datetime) -> str:
    return f"{when:%b} {when.day}, {when.year}"


def cut_at_word(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The first ``limit`` characters, cut back to the last word boundary."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = max(head.rfind(" "), head.rfind("\n"))
    return (head[:space] if space > limit // 2 else head).rstrip()


def preview_block(capture: Capture) -> str:
    """``HTTP 200 · Fetched Apr 9, 2026 · 6 KB``, the text's first 3,000 characters,
    then ``... (truncated, N KB total)`` when there is more."""
    text = capture.full_text or ""
    size = len(text.encode("utf-8")) if text else (capture.payload_length or 0)
    lines = [
        f"Cached Content Preview · {outcome(capture)} · "
        f"Fetched {fetched_on(capture.fetched_at)} · {kb(size)}"
    ]
    if text:
        head = cut_at_word(text)
        lines.append(head)
        if len(head) < len(text):
            lines.append(f"... (truncated, {kb(size)} total)")
    else:
        lines.append("(no text extracted)")
    return "\n".join(lines)


def footer(res: Resource) -> str:
    return f"Resource ID: {res.resource_id} | Stable ID: {res.stable_id}"


def capture_line(c: Capture) -> str:
    when = f"{c.fetched_at:%Y-%m-%d %H:%M}"
    if c.error_class:
        outcome = f"{c.error_class}: {c.error_message or ''}".strip()
    else:
        outcome = f"HTTP {c.http_status} {c.content_type or ''}".strip()
        if c.payload_length is not None:
            outcome += f" {kb(c.payload_length)}"
    marks = (("revisit", c.is_revisit), ("changed", c.text_changed))
    flags = [f for f, on in (*marks, ("browser", c.fetch_method == "browser")) if on]
    return f"  {c.capture_id}  {when}  {outcome}" + (f"  [{', '.join(flags)}]" if flags else "")


def resource_card(
    res: Resource, captures: list[Capture], limit: int = 10, prior: Sequence[PriorCheck] = ()
) -> str:
    """The card ``archive show`` prints; ``prior``: the wiki's own checks of it, shown
    apart from our captures."""
    out = [
        res.title or _extracted_title(res, captures) or "(untitled)",
        f"{res.type or DEFAULT_TYPE} · {res.url}",
    ]
    if res.tags:
        out.append("Tags: " + ", ".join(res.tags))
    if res.cited_by:
        out.append("Cited by: " + ", ".join(citing(res.cited_by, prior)))
    since = f" since {res.state_since:%Y-%m-%d}" if res.state_since else ""
    out.append(f"Link state: {res.link_state}{since}")
    due = f"{res.next_due_at:%Y-%m-%d %H:%M} UTC" if res.next_due_at else "not scheduled"
    out.append(f"Next check: {due}")
    out.append(f"Captures: {len(captures)}")
    out.extend(capture_line(c) for c in captures[-limit:][::-1])
    out.extend(prior_section(prior))
    shown = requisites_of(res, captures)
    if shown is not None:
        out.append(requisites_line(shown))
    if captures:
        out += ["", preview_section(good_capture(res, captures), captures[-1])]
    out += ["", footer(res)]
    return "\n".join(out)


def requisites_of(res: Resource, captures: list[Capture]) -> Capture | None:
    """The capture whose requisites the card lists: the one its preview (and replay)
    comes from, else the latest; None when that one fetched none (or none were asked)."""
    shown = good_capture(res, captures) or (captures[-1] if captures else None)
    if shown is None or not (shown.requisites or shown.requisites_cut):
        return None
    return shown


def requisites_line(c: Capture) -> str:
    """``Requisites: 12 archived, 1 failed`` (and the cut, when a cap stopped them); a
    browser capture adds ``, a screenshot``."""
    fetched = [r for r in c.requisites if r.kind not in RENDERINGS]
    archived = sum(r.status is not None and r.status < 400 for r in fetched)
    line = f"Requisites: {archived:,} archived, {len(fetched) - archived:,} failed"
    if any(r.kind == "screenshot" for r in c.requisites):
        line += f" ({c.fetch_method}, with a screenshot)"
    if c.requisites_cut:
        left = c.requisites_left_out or 0
        line += f" ({left:,} more left out by the per-page {c.requisites_cut} cap)"
    return line


def requisites_json(c: Capture) -> dict[str, Any]:
    """The capture's requisites as ``show --json`` lists them."""
    fetched = [r for r in c.requisites if r.kind not in RENDERINGS]
    return {
        "capture_id": c.capture_id,
        "archived": sum(r.status is not None and r.status < 400 for r in fetched),
        "failed": sum(r.status is None or r.status >= 400 for r in fetched),
        "cut": c.requisites_cut,
        "left_out": c.requisites_left_out,
        "items": [
            {
                "url": r.url,
                "kind": r.kind,
                "found_in": r.found_in,
                "final_url": r.final_url,
                "status": r.status,
                "content_type": r.content_type,
                "error_class": r.error_class,
                "error_message": r.error_message,
                "is_revisit": r.is_revisit,
                "warc_record_id": r.warc_record_id,
            }
            for r in c.requisites
        ],
    }


def good_capture(res: Resource, captures: list[Capture]) -> Capture | None:
    """The capture the preview comes from: the resource's last good one (a failed check,
    an error page or a refusal is history, not the page)."""
    return next((c for c in captures if c.capture_id == res.last_ok_capture_id), None)


def preview_section(good: Capture | None, latest: Capture) -> str:
    """The preview block of the last good capture, saying when that was if later checks
    failed; or, without one, that there is none yet and what the latest check got."""
    if good is None:
        return (
            "Cached Content Preview · no good capture archived yet "
            f"(latest check {fetched_on(latest.fetched_at)}: {outcome(latest)})"
        )
    block = preview_block(good)
    if latest.capture_id == good.capture_id:
        return block
    head, _, rest = block.partition("\n")
    note = (
        f"(the last good capture; the latest check, {fetched_on(latest.fetched_at)}, "
        f"got {outcome(latest)})"
    )
    return "\n".join([head, note, rest])


def _extracted_title(res: Resource, captures: list[Capture]) -> str | None:
    good = good_capture(res, captures)
    return good.page_title if good is not None else None


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


#: The columns :func:`resource_json` reads (a listing selects only these).
RESOURCE_JSON_COLUMNS = (
    "resource_id",
    "stable_id",
    "url",
    "title",
    "type",
    "tags",
    "cited_by",
    "link_state",
    "state_since",
    "next_due_at",
    "last_ok_capture_id",
)


def resource_json(res: Any) -> dict[str, Any]:
    """A resource (or a row of RESOURCE_JSON_COLUMNS) as JSON."""
    return {
        "resource_id": res.resource_id,
        "stable_id": res.stable_id,
        "url": res.url,
        "title": res.title,
        "type": res.type or DEFAULT_TYPE,
        "tags": res.tags,
        "cited_by": res.cited_by,
        "link_state": res.link_state,
        "state_since": res.state_since.isoformat() if res.state_since else None,
        "next_due_at": res.next_due_at.isoformat() if res.next_due_at else None,
        "last_ok_capture_id": res.last_ok_capture_id,
    }


def card_json(
    res: Resource, captures: list[Capture], prior: Sequence[PriorCheck] = ()
) -> dict[str, Any]:
    """The card as JSON: the resource, its captures (oldest first), the preview the text
    card shows, from the last good capture, and the wiki's own prior checks (latest first;
    never among the captures)."""
    from archive.inspect.history import history_json

    good = good_capture(res, captures)
    preview = None
    if good is not None:
        text = good.full_text or ""
        head = cut_at_word(text)
        preview = {
            "capture_id": good.capture_id,
            "fetched_at": good.fetched_at.isoformat(),
            "http_status": good.http_status,
            "title": good.page_title,
            "text": head,
            "truncated": len(head) < len(text),
            "content_length": good.content_length,
        }
    shown = requisites_of(res, captures)
    return resource_json(res) | {
        "preview": preview,
        "captures": [history_json(c) for c in captures],
        "requisites": requisites_json(shown) if shown is not None else None,
        "prior_checks": [prior_json(check) for check in prior],
        "meta": res.meta,
    }
