"""``archive export citation-content`` and ``archive push wiki`` against a stand-in for the
wiki's server (tests/wikiserver.py: its schema and limits, a bearer key, 429 with
Retry-After on every 50th write, a 500 now and then), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from wikiserver import WikiServer, js_length, schema_problems

from archive.capture.preview import Preview
from archive.capture.record import FetchOutcome, new_capture_id, record_capture
from archive.push.client import retry_after
from archive.registry.importer import Importer
from archive.store.db import Store
from archive.store.models import Resource, WikiPush

ARCHIVE = str(Path(sys.executable).parent / "archive")
KEY = "wk_live_7f3a9c1e2b4d6f80a1c3e5b7d9f1a3c5"
T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
ORDINARY = [f"https://source{i % 9}.example.org/articles/{i}" for i in range(105)]
HUGE = "https://reports.example.org/annual/2025-report.pdf"
TITLE = "https://blog.example.net/posts/a-title-that-goes-on"
CTYPE = "https://data.example.com/feed"
NOTEXT = "https://images.example.org/chart.png"
NUL = "https://nul.example.org/page"
REFUSED = "https://mirror.example.org/refused/paper"
LONG = "https://long.example.org/search?q=" + "q" * 2100
NEVER = "https://gone.example.org/removed"
PARAGRAPH = (
    "Zürich's council published the audit of the harbour works on Tuesday, listing every "
    "contract signed since 2019 and the sums paid to each firm 😀. "
)


def capture(store: Store, url: str, when: datetime, status: int = 200, **preview: Any) -> str:
    """One fetch of ours, as the crawler records it."""
    content_type = preview.pop("content_type", "text/html; charset=utf-8")
    with store.session() as s:
        res = s.scalar(select(Resource).where(Resource.url == url))
        assert res is not None
        cid = new_capture_id(s, res, when, store.config.hashids_salt)
        outcome = FetchOutcome(cid, res.resource_id, url, when, url, status, content_type)
        outcome.payload_length = 1000
        outcome.preview = Preview(**preview) if preview else None
        record_capture(s, outcome, refresh_days=30, now=when)
        return cid


@pytest.fixture
def archived(store: Store, tmp_path: Path) -> dict[str, Any]:
    """An archive of cited pages, the wiki's limits tested by a few of them."""
    specials = [HUGE, TITLE, CTYPE, NOTEXT, REFUSED, LONG, NEVER]
    with_nul = store.engine.dialect.name == "sqlite"  # PostgreSQL text holds no NUL at all
    urls = ORDINARY + specials + ([NUL] if with_nul else [])
    registry = tmp_path / "resources.yaml"
    registry.write_text(
        "".join(f"- url: '{u}'\n  cited_by: [p{n % 4}]\n" for n, u in enumerate(urls))
    )
    assert Importer(store, now=T0).import_file(registry).new == len(urls)
    for n, url in enumerate(ORDINARY + [REFUSED, LONG]):
        text = f"Article {n}. " + PARAGRAPH * (1 + n % 5)
        capture(store, url, T0 + timedelta(minutes=n), full_text=text, page_title=f"Article {n}")
    huge = PARAGRAPH * (6 * 1024 * 1024 // len(PARAGRAPH.encode()))  # 6 MB, clipped to 5
    capture(
        store, HUGE, T0, full_text=huge, page_title="Annual report", content_type="application/pdf"
    )
    capture(store, TITLE, T0, full_text="Short.", page_title="Überlänge 😀 " * 150)
    params = "; ".join(f"p{i}=v{i}" for i in range(25))
    capture(store, CTYPE, T0, full_text="Feed.", content_type=f"text/html; {params}")
    capture(store, NOTEXT, T0, content_type="image/png")
    if with_nul:
        capture(store, NUL, T0, full_text="before\x00after, and more text")
    capture(store, NEVER, T0, status=404)
    rows = [u for u in urls if u not in (LONG, NEVER)]
    return {"rows": rows, "landing": [u for u in rows if u != REFUSED]}


def push(store: Store, server: str, *args: str, key: str = KEY, popen: bool = False) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env |= {
        "ARCHIVE_HOME": str(store.config.home),
        "ARCHIVE_DATABASE_URL": store.config.database_url,
    }
    if key:
        env["ARCHIVE_WIKI_KEY"] = key
    command = [ARCHIVE, "push", "wiki", "--server", server, *args]
    if popen:
        return subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=240, check=False
    )


def no_key_anywhere(store: Store, *outputs: str) -> None:
    for text in outputs:
        assert KEY not in text
    for path in store.config.home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_every_row_lands_exactly_once_and_unchanged_rows_are_not_sent_again(
    store: Store, archived: dict[str, Any]
) -> None:
    rows, landing = archived["rows"], archived["landing"]
    with WikiServer(KEY, fail_at={7}) as wiki:
        first = push(store, wiki.url, "--per-minute", "0", "--backoff", "0.2")
        assert first.returncode == 2, first.stderr[-3000:]  # done, but one row refused
        assert wiki.landings() == dict.fromkeys(landing, 1)
        statuses = [r.status for r in wiki.requests]
        assert (statuses.count(429), statuses.count(500)) == (2, 1)
        for before, after in zip(wiki.requests, wiki.requests[1:], strict=False):
            if before.status == 429:  # waited as asked: "1" once, an HTTP date the next time
                assert after.at - before.at >= 0.95 and after.url == before.url
        assert f"{len(landing)} sent, 0 unchanged, 1 rejected, 0 failed, 0 left" in first.stdout
        assert (
            f"rejected {REFUSED}: HTTP 422: validation_error: url not accepted here "
            "(request had Authorization: Bearer [key])"
        ) in first.stderr
        assert f"warning: left out {LONG[:119]}…: its URL is longer" in first.stderr
        assert "rate-limited (HTTP 429): waiting 1 s" in first.stderr
        assert "server trouble (HTTP 500): retry 1 in 0.2 s" in first.stderr
        for row in wiki.landed:
            assert schema_problems(row) == []
            assert row["fetchMethod"] == "cited-archive"
            if row["fullText"] is not None:
                assert row["contentHash"] == hashlib.sha256(row["fullText"].encode()).hexdigest()
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(WikiPush)) == len(landing)

        second = push(store, wiki.url, "--per-minute", "0")
        assert second.returncode == 2
        assert f"0 sent, {len(landing)} unchanged, 1 rejected" in second.stdout
        assert wiki.landings() == dict.fromkeys(landing, 1)

        # Crawled again: the same text is not a change, a new text is.
        same = next(row for row in wiki.landed if row["url"] == ORDINARY[0])
        later = T0 + timedelta(days=30)
        capture(store, ORDINARY[0], later, full_text=same["fullText"], page_title=same["pageTitle"])
        capture(
            store, ORDINARY[1], later, full_text="The audit was withdrawn.", page_title="Article 1"
        )
        third = push(store, wiki.url)  # paced as it would be for real
        assert third.returncode == 2, third.stderr
        assert f"1 sent, {len(landing) - 1} unchanged, 1 rejected" in third.stdout
        assert wiki.landings()[ORDINARY[1]] == 2 and wiki.landings()[ORDINARY[0]] == 1
        assert wiki.landed[-1]["fullText"] == "The audit was withdrawn."
        assert wiki.landed[-1]["fetchedAt"] == "2026-04-01T08:30:00.000Z"
    no_key_anywhere(
        store, first.stdout, first.stderr, second.stdout, second.stderr, third.stdout, third.stderr
    )
    assert len(rows) == len(landing) + 1


def test_a_push_stopped_by_sigterm_resumes_without_sending_anything_twice(
    store: Store, archived: dict[str, Any]
) -> None:
    landing = archived["landing"]
    with WikiServer(KEY, limit_every=0) as wiki:
        proc = push(store, wiki.url, "--per-minute", "0", "--json", popen=True)

        def stop_at_30(row: dict[str, Any]) -> None:
            if len(wiki.landed) == 29:  # the 30th row is in flight
                proc.send_signal(signal.SIGTERM)
                time.sleep(0.2)  # the signal arrives while the client waits for its answer

        wiki.on_land = stop_at_30
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 1, err[-3000:]
        assert len(wiki.landed) == 30
        report = json.loads(out)
        assert (report["sent"], report["stopped"]) == (30, "interrupted")
        assert report["left"] == len(landing) + 1 - 30 - len(report["rejected"])
        assert "stopping after the row in flight" in err
        wiki.on_land = None

        resumed = push(store, wiki.url, "--per-minute", "0")
        assert resumed.returncode == 2, resumed.stderr
        assert (
            f"{len(landing) - 30} sent, 30 unchanged, 1 rejected, 0 failed, 0 left"
            in resumed.stdout
        )
        assert wiki.landings() == dict.fromkeys(landing, 1)
    no_key_anywhere(store, out, err, resumed.stdout, resumed.stderr)


def test_a_killed_push_resends_at_most_the_row_in_flight(
    store: Store, archived: dict[str, Any]
) -> None:
    landing = archived["landing"]
    with WikiServer(KEY, limit_every=0) as wiki:
        proc = push(store, wiki.url, "--per-minute", "0", popen=True)
        in_flight: list[str] = []

        def kill_at_20(row: dict[str, Any]) -> None:
            if len(wiki.landed) == 19:  # stored by the server, never acknowledged to the client
                in_flight.append(row["url"])
                proc.kill()
                proc.wait()

        wiki.on_land = kill_at_20
        proc.communicate(timeout=240)
        assert proc.returncode == -signal.SIGKILL
        wiki.on_land = None
        resumed = push(store, wiki.url, "--per-minute", "0")  # the lock died with its holder
        assert resumed.returncode == 2, resumed.stderr
        assert f"{len(landing) - 19} sent, 19 unchanged, 1 rejected" in resumed.stdout
        assert wiki.landings() == dict.fromkeys(landing, 1) | {in_flight[0]: 2}


def test_the_key_is_required_checked_and_never_shown(
    store: Store, archived: dict[str, Any]
) -> None:
    rows = archived["rows"]
    with WikiServer(KEY) as wiki:
        dry = push(store, wiki.url, "--dry-run", key="")
        assert dry.returncode == 0, dry.stderr
        assert f"would send {len(rows)} of {len(rows)} rows (0 unchanged" in dry.stdout
        assert f"] would send {HUGE} (new)" in dry.stderr
        assert wiki.requests == []

        missing = push(store, wiki.url, key="")
        assert missing.returncode == 1 and "set ARCHIVE_WIKI_KEY" in missing.stderr

        wrong_key = "wk_live_0000000000000000wrong"
        wrong = push(store, wiki.url, "--json", key=wrong_key)
        assert wrong.returncode == 1
        report = json.loads(wrong.stdout)
        assert (
            report["sent"] == 0
            and "HTTP 401: unauthorized: Invalid or missing API key" in report["stopped"]
        )
        assert wrong_key not in wrong.stdout + wrong.stderr
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(WikiPush)) == 0

        clear = push(store, "http://wiki.example.org")
        assert clear.returncode == 2 and "refusing to send the key in clear" in clear.stderr
    no_key_anywhere(
        store, dry.stdout, dry.stderr, missing.stderr, wrong.stdout, wrong.stderr, clear.stderr
    )


def test_a_failing_server_stops_the_push_and_loses_nothing(
    store: Store, archived: dict[str, Any]
) -> None:
    with WikiServer(KEY, down=True) as wiki:
        down = push(store, wiki.url, "--per-minute", "0", "--backoff", "0.01")
        assert down.returncode == 1
        assert "stopped: the server failed on 3 rows in a row" in down.stdout
        assert (
            f"0 sent, 0 unchanged, 0 rejected, 3 failed, {len(archived['rows']) - 3} left"
            in down.stdout
        )
        assert len(wiki.requests) == 3 * 5  # each row: once and 4 retries
        assert "failed" in down.stderr and "HTTP 503 after 4 retries" in down.stderr
        wiki.down = False
        again = push(store, wiki.url, "--per-minute", "0")
        assert again.returncode == 2
        assert wiki.landings() == dict.fromkeys(archived["landing"], 1)


def test_export_rows_are_the_servers_schema_within_its_limits(
    store: Store, archived: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "citation-content.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env |= {
        "ARCHIVE_HOME": str(store.config.home),
        "ARCHIVE_DATABASE_URL": store.config.database_url,
    }
    result = subprocess.run(
        [ARCHIVE, "export", "citation-content", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"{len(archived['rows'])} rows (1 left out)" in result.stderr
    assert f"warning: left out {LONG[:119]}…: its URL is longer" in result.stderr
    rows = {r["url"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert set(rows) == set(archived["rows"])
    for row in rows.values():
        assert schema_problems(row) == [], row["url"]
        assert list(row) == [
            "url",
            "resourceId",
            "fetchedAt",
            "httpStatus",
            "contentType",
            "pageTitle",
            "fullTextPreview",
            "fullText",
            "contentLength",
            "contentHash",
            "fetchMethod",
        ]
    huge = rows[HUGE]
    assert huge["fullText"].endswith("\n... (truncated, 5120 KB total)")
    assert 5 * 1024 * 1024 - 200 < len(huge["fullText"].encode()) <= 5 * 1024 * 1024
    cut = huge["fullText"].removesuffix("\n... (truncated, 5120 KB total)")
    assert cut.split()[-1] in PARAGRAPH.split()  # cut at a word
    assert huge["fullTextPreview"].endswith("... (truncated, 5120 KB total)")
    assert len(huge["fullTextPreview"].encode()) <= 50 * 1024
    assert huge["contentHash"] == hashlib.sha256(huge["fullText"].encode()).hexdigest()
    assert huge["contentLength"] > len(cut)  # what we hold, not what fits
    title = rows[TITLE]["pageTitle"]
    assert title.endswith("…") and 980 < js_length(title) <= 1000
    assert len(title) < js_length(title)  # its emoji are two units each to the server
    assert rows[CTYPE]["contentType"] == "text/html"
    assert rows[NOTEXT] | {"fetchedAt": None, "resourceId": None} == {
        "url": NOTEXT,
        "resourceId": None,
        "fetchedAt": None,
        "httpStatus": 200,
        "contentType": "image/png",
        "pageTitle": None,
        "fullTextPreview": None,
        "fullText": None,
        "contentLength": None,
        "contentHash": None,
        "fetchMethod": "cited-archive",
    }
    if NUL in rows:
        assert rows[NUL]["fullText"] == "beforeafter, and more text"
    first = rows[ORDINARY[0]]
    assert first["fetchedAt"] == "2026-03-02T08:30:00.000Z" and first["httpStatus"] == 200


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert retry_after("120", now) == 120.0
    assert retry_after("Mon, 02 Mar 2026 08:30:42 GMT", now) == 42.0
    assert retry_after("Mon, 02 Mar 2026 08:00:00 GMT", now) == 0.0  # already past
    assert retry_after("soon", now) is None and retry_after(None, now) is None
