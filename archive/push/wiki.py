"""``archive push wiki``: the wiki's server gets every citation_content row that changed
since it last acknowledged one for that URL.

A push plans first (every row is built as ``archive export citation-content`` builds it,
and its hash compared with the one acknowledged), then sends the changed rows one at a
time, marking each in the store as soon as the server acknowledges it: a push that is
interrupted, or fails half way, leaves exactly the unacknowledged rows for the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from archive.export.citation_content import ContentRow, Skipped, citation_content, content_row
from archive.export.selection import Selection
from archive.push.client import Answer, ServerTrouble, Stopped, WikiServer
from archive.push.state import acknowledged, mark_pushed, url_hash
from archive.store.db import Store
from archive.store.models import Resource

#: Rows in a row the server keeps failing on (5xx after every retry) before the push stops.
FAILING_ROWS = 3


@dataclass
class Planned:
    resource_id: str
    url: str
    new: bool  # never acknowledged (else: changed since)


@dataclass
class PushReport:
    server: str
    dry_run: bool = False
    rows: int = 0  # resources with a good capture, as rows
    unchanged: int = 0
    planned: list[Planned] = field(default_factory=list)
    sent: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[Skipped] = field(default_factory=list)
    #: Planned rows never tried, and why the push stopped before them.
    left: int = 0
    stopped: str | None = None

    @property
    def exit_code(self) -> int:
        """0: every changed row acknowledged; 1: the push did not get through (what is
        not acknowledged goes next time); 2: it did, but the server refused some rows."""
        if self.stopped or self.failed or self.left:
            return 1
        return 2 if self.rejected else 0

    def summary(self) -> str:
        if self.dry_run:
            return (
                f"{self.server}: would send {len(self.planned):,} of {self.rows:,} rows "
                f"({self.unchanged:,} unchanged since the last push); nothing sent"
            )
        line = (
            f"{self.server}: {self.sent:,} sent, {self.unchanged:,} unchanged, "
            f"{len(self.rejected):,} rejected, {len(self.failed):,} failed, {self.left:,} left "
            f"(of {self.rows:,} rows)"
        )
        return line + (f"; stopped: {self.stopped}" if self.stopped else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "unchanged": self.unchanged,
            "to_send": len(self.planned),
            "sent": self.sent,
            "rejected": self.rejected,
            "failed": self.failed,
            "left_out": [{"url": s.url, "reason": s.reason} for s in self.left_out],
            "left": self.left,
            "stopped": self.stopped,
            "exit_code": self.exit_code,
        }


def plan(store: Store, selection: Selection, server: str, report: PushReport) -> None:
    """Which rows the server has not acknowledged as they are now (into ``report``)."""
    with store.session() as session:
        acked = acknowledged(session, server)
        for item in citation_content(session, selection):
            if isinstance(item, Skipped):
                report.left_out.append(item)
                continue
            report.rows += 1
            known = acked.get(url_hash(item.url))
            if known == item.row_hash:
                report.unchanged += 1
            else:
                report.planned.append(Planned(item.resource_id, item.url, known is None))


def send(
    store: Store,
    client: WikiServer,
    report: PushReport,
    say: Callable[[str], None],
    stop: Callable[[], bool],
) -> None:
    """Send the planned rows, each marked pushed once the server acknowledges it."""
    total, failing = len(report.planned), 0
    for index, item in enumerate(report.planned, 1):
        if stop():
            report.stopped, report.left = "interrupted", total - index + 1
            return
        row = _current_row(store, item)
        if row is None:  # no good capture any more (it cannot lose one), or now left out
            continue
        try:
            answer = client.upsert(row.line().encode("utf-8"))
        except Stopped:
            report.stopped, report.left = "interrupted", total - index + 1
            return
        except ServerTrouble as trouble:
            report.stopped, report.left = str(trouble), total - index + 1
            return
        failing = failing + 1 if answer.outcome == "failed" else 0
        _record(store, report, row, answer, f"[{index}/{total}]", say)
        if failing >= FAILING_ROWS:
            report.stopped = f"the server failed on {failing} rows in a row"
            report.left = total - index
            return


def _current_row(store: Store, item: Planned) -> ContentRow | None:
    """The row as it is now (a crawl may have made a newer good capture since planning)."""
    with store.session() as session:
        res = session.get(Resource, item.resource_id)
        row = content_row(session, res) if res is not None else None
    return row if isinstance(row, ContentRow) else None


def _record(
    store: Store,
    report: PushReport,
    row: ContentRow,
    answer: Answer,
    where: str,
    say: Callable[[str], None],
) -> None:
    if answer.outcome == "sent":
        with store.session() as session:
            mark_pushed(session, report.server, row, datetime.now(UTC))
        report.sent += 1
        say(f"{where} sent {row.url}")
        return
    entry = {"url": row.url, "status": answer.status, "message": answer.message}
    (report.rejected if answer.outcome == "rejected" else report.failed).append(entry)
    status = f"HTTP {answer.status}: " if answer.outcome == "rejected" else ""
    say(f"{where} {answer.outcome} {row.url}: {status}{answer.message}")
