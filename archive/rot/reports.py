"""The link-rot report: which cited pages are dead, gone, paywalled or moved, and where
an editor can still read what was cited (docs/design.md §8)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.rot.linkstate import Check, is_good_copy
from archive.rot.wayback import WaybackCopy
from archive.store.db import chunks
from archive.store.models import Capture, LinkState, Resource

ROT_STATES: tuple[str, ...] = (
    LinkState.DEAD,
    LinkState.GONE,
    LinkState.PAYWALLED,
    LinkState.REDIRECTED,
)


def replay_url(viewer: str, capture_id: str) -> str:
    return f"{viewer.rstrip('/')}/replay/{capture_id}"


def parse_states(text: str | None) -> tuple[str, ...]:
    """``dead,gone`` → ("dead", "gone"); unknown names raise ValueError naming the valid ones."""
    if not text:
        return ROT_STATES
    states = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    valid = {str(s) for s in LinkState}
    bad = [s for s in states if s not in valid]
    if bad or not states:
        raise ValueError(
            f"unknown link state {', '.join(bad) or repr(text)}; "
            f"choose from {', '.join(sorted(valid))}"
        )
    return states


@dataclass
class GoodCapture:
    capture_id: str
    fetched_at: datetime
    replay_url: str


@dataclass
class ReportRow:
    resource_id: str
    stable_id: str
    url: str
    title: str | None
    state: str
    since: datetime | None
    cited_by: list[str] = field(default_factory=list)
    #: Where the last capture ended up, for redirected resources only.
    final_url: str | None = None
    last_good: GoodCapture | None = None
    #: Asked only with ``--wayback``, for rows without a good capture of ours.
    wayback_checked: bool = False
    wayback: WaybackCopy | None = None

    def as_json(self) -> dict[str, Any]:
        good = self.last_good
        return {
            "resource_id": self.resource_id,
            "stable_id": self.stable_id,
            "url": self.url,
            "title": self.title,
            "state": self.state,
            "since": self.since.isoformat() if self.since else None,
            "cited_by": self.cited_by,
            "final_url": self.final_url,
            "last_good_capture": None
            if good is None
            else {
                "capture_id": good.capture_id,
                "fetched_at": good.fetched_at.isoformat(),
                "replay_url": good.replay_url,
            },
        } | (self._wayback_json() if self.wayback_checked else {})

    def _wayback_json(self) -> dict[str, Any]:
        copy = self.wayback
        found = {"url": copy.url, "archived_at": copy.archived_at.isoformat()} if copy else None
        return {"wayback": found}


def add_wayback(rows: Sequence[ReportRow], api: str) -> list[str]:
    """Ask the Wayback Machine (the availability ``api``, ``Config.wayback_api``) for a copy
    of each page we hold no good capture of, as of when it broke (``archive.rot.wayback``).
    Returns the lookups that failed, as messages."""
    from archive.rot.wayback import WaybackError, closest_copies

    wanted = [r for r in rows if r.last_good is None]
    found = closest_copies(((r.url, r.since) for r in wanted), api)
    failures = []
    for row in wanted:
        answer = found.get(row.url)
        if isinstance(answer, WaybackError):
            failures.append(str(answer))
            continue
        row.wayback_checked, row.wayback = True, answer
    return failures


def _is_good(row: Any) -> bool:
    # The rule that set the resource's last good capture (``is_good_copy``): a 2xx from the
    # cited page or from where it moved, not from a front page it was sent to.
    return is_good_copy(Check(row.requested_url, row.final_url, row.http_status, row.error_class))


def capture_facts(
    session: Session, resource_ids: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per resource: its last capture and its last good capture (columns only, no text)."""
    last: dict[str, Any] = {}
    good: dict[str, Any] = {}
    for chunk in chunks(resource_ids):
        rows = session.execute(
            select(
                Capture.resource_id,
                Capture.capture_id,
                Capture.fetched_at,
                Capture.requested_url,
                Capture.final_url,
                Capture.http_status,
                Capture.error_class,
            )
            .where(Capture.resource_id.in_(chunk))
            .order_by(Capture.fetched_at, Capture.capture_id)
        )
        for row in rows:  # oldest first: later rows overwrite earlier ones
            last[row.resource_id] = row
            if _is_good(row):
                good[row.resource_id] = row
    return last, good


def rot_report(
    session: Session, states: Sequence[str] = ROT_STATES, *, viewer: str
) -> list[ReportRow]:
    """Resources in ``states``, ordered by state (as given), then longest in that state first.

    Replay addresses point under ``viewer``, where the web viewer answers
    (``Config.viewer_url``, or the address a viewer page was asked on)."""
    resources = session.scalars(select(Resource).where(Resource.link_state.in_(list(states))))
    found = list(resources)
    last, good = capture_facts(session, [r.resource_id for r in found])
    rows = []
    for res in found:
        ok = good.get(res.resource_id)
        final = last.get(res.resource_id)
        rows.append(
            ReportRow(
                resource_id=res.resource_id,
                stable_id=res.stable_id,
                url=res.url,
                title=res.title,
                state=res.link_state,
                since=res.state_since,
                cited_by=list(res.cited_by or []),
                final_url=final.final_url
                if final is not None and res.link_state == LinkState.REDIRECTED
                else None,
                last_good=None
                if ok is None
                else GoodCapture(ok.capture_id, ok.fetched_at, replay_url(viewer, ok.capture_id)),
            )
        )
    order = {state: i for i, state in enumerate(states)}
    rows.sort(
        key=lambda r: (
            order[r.state],
            r.since is None,
            r.since or datetime.min,
            r.resource_id,
        )
    )
    return rows


CSV_COLUMNS = (
    "state",
    "since",
    "resource_id",
    "stable_id",
    "url",
    "title",
    "cited_by",
    "final_url",
    "last_good_capture_id",
    "last_good_fetched_at",
    "replay_url",
)


def report_csv(rows: Sequence[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    wayback = any(r.wayback_checked for r in rows)
    writer.writerow(CSV_COLUMNS + (("wayback_url", "wayback_archived_at") if wayback else ()))
    for r in rows:
        good = r.last_good
        copy = r.wayback
        extra = [copy.url if copy else "", copy.archived_at.isoformat() if copy else ""]
        writer.writerow(
            [
                r.state,
                r.since.isoformat() if r.since else "",
                r.resource_id,
                r.stable_id,
                r.url,
                r.title or "",
                "; ".join(r.cited_by),
                r.final_url or "",
                good.capture_id if good else "",
                good.fetched_at.isoformat() if good else "",
                good.replay_url if good else "",
            ]
            + (extra if wayback else [])
        )
    return out.getvalue()


def report_text(rows: Sequence[ReportRow], states: Sequence[str]) -> str:
    """A list an editor can work through: one block per page, grouped by state."""
    if not rows:
        return f"No resources are {' or '.join(states)}."
    out: list[str] = []
    for state in states:
        group = [r for r in rows if r.state == state]
        if not group:
            continue
        out.append(f"{state.upper()} ({len(group)})")
        for r in group:
            since = f" since {r.since:%Y-%m-%d}" if r.since else ""
            out.append(f"  {r.title or '(untitled)'}")
            out.append(f"    {r.url}")
            if r.final_url:
                out.append(f"    now goes to {r.final_url}")
            out.append(f"    {r.state}{since} · {r.resource_id} · {r.stable_id}")
            out.append(f"    cited by: {', '.join(r.cited_by) or '(no pages recorded)'}")
            good = r.last_good
            if good:
                out.append(
                    f"    last good capture: {good.capture_id} of {good.fetched_at:%Y-%m-%d}"
                    f" · {good.replay_url}"
                )
            else:
                out.append("    no good capture archived")
                if r.wayback:
                    when = f"{r.wayback.archived_at:%Y-%m-%d}"
                    out.append(f"    Wayback Machine copy of {when}: {r.wayback.url}")
                elif r.wayback_checked:
                    out.append("    no copy in the Wayback Machine either")
        out.append("")
    return "\n".join(out).rstrip("\n")
