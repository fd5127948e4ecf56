"""``archive history``, ``diff`` and ``report`` end to end, on SQLite and PostgreSQL:
what an editor sees of cited pages that changed, moved or died."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from archive.capture.preview import Preview
from archive.capture.record import FetchOutcome, new_capture_id, record_capture
from archive.cli.context import Context
from archive.cli.rot import diff, history, report
from archive.registry.importer import Importer
from archive.store.db import Store
from archive.store.models import Resource

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
STORY = "https://news.example.org/2025/12/story-about-models"
REGISTRY = f"""
- id: story
  url: {STORY}
  title: A story about models
  cited_by: [ai-safety-overview, compute-governance]
- id: vanished
  url: https://blog.example.net/posts/42
  title: A post that was taken down
  cited_by: [eval-methods]
- id: nxdomain
  url: https://defunct-lab.example/paper.html
- id: walled
  url: https://journal.example.com/article/7
  title: Behind the wall
- id: fine
  url: https://example.org/fine
"""
FIRST = "Models are getting larger.\nCompute doubles every few months.\nThe end."
SECOND = "Models are getting larger.\nCompute doubles every six months.\nThe end."
HOME = "Welcome to News Example.\nTop stories today."


class Archive:
    """The rot commands under a group built the way ``archive.cli.cli`` builds its context."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.contexts: list[Context] = []
        self.env = {
            "ARCHIVE_HOME": str(store.config.home),
            "ARCHIVE_DATABASE_URL": store.config.database_url,
        }

        @click.group()
        @click.pass_context
        def app(ctx: click.Context) -> None:
            ctx.obj = Context(None)
            self.contexts.append(ctx.obj)

        for command in (history, diff, report):
            app.add_command(command)
        self.app = app

    def __call__(self, *args: str, **env: str) -> Result:
        return CliRunner().invoke(self.app, list(args), env=self.env | env)

    def close(self) -> None:
        for ctx in self.contexts:
            if ctx._store is not None:
                ctx._store.close()


def fetch(
    store: Store,
    rid: str,
    when: datetime,
    status: int | None = 200,
    *,
    final: str | None = None,
    error: str | None = None,
    text: str | None = None,
    revisit_of: str | None = None,
) -> str:
    with store.session() as s:
        res = s.get(Resource, rid)
        assert res is not None
        cid = new_capture_id(s, res, when, store.config.hashids_salt)
        record_capture(
            s,
            FetchOutcome(
                capture_id=cid,
                resource_id=rid,
                requested_url=res.url,
                fetched_at=when,
                final_url=final or (res.url if status else None),
                http_status=status,
                content_type="text/html" if status else None,
                payload_length=len(text or "") * 20 if status else None,
                is_revisit=revisit_of is not None,
                revisit_of=revisit_of,
                error_class=error,
                preview=Preview(full_text=text, page_title="t") if text else None,
            ),
            refresh_days=30,
            now=when,
        )
        return cid


@pytest.fixture
def archive(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Archive]:
    for name in ("ARCHIVE_VIEWER_URL", "ARCHIVE_HOME", "ARCHIVE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "resources.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    assert Importer(store, now=T0).import_file(path).new == 5
    app = Archive(store)
    yield app
    app.close()


@pytest.fixture
def caps(archive: Archive) -> dict[str, str]:
    """Three months of crawls: a story that changed, then moved to the home page; a post
    deleted; a domain that never answered; a paywall; a page that is fine."""
    st = archive.store
    c = {
        "first": fetch(st, "story", T0, text=FIRST),
        "second": fetch(st, "story", T0 + 30 * DAY, text=SECOND),
        "vanished_ok": fetch(st, "vanished", T0, text="A post."),
        "fine": fetch(st, "fine", T0, text="Fine."),
    }
    c["revisit"] = fetch(st, "story", T0 + 45 * DAY, text=SECOND, revisit_of=c["second"])
    c["home"] = fetch(st, "story", T0 + 60 * DAY, final="https://news.example.org/", text=HOME)
    fetch(st, "vanished", T0 + 30 * DAY, 404)
    c["vanished_gone"] = fetch(st, "vanished", T0 + 31 * DAY, 404)
    for days in (0, 3, 6):
        fetch(st, "nxdomain", T0 + days * DAY, None, error="dns")
    fetch(st, "walled", T0 + 2 * DAY, 403)
    return c


def test_report_text_lists_rot_for_an_editor(archive: Archive, caps: dict[str, str]) -> None:
    result = archive("report")
    assert result.exit_code == 0, result.output
    out = result.stdout
    # Grouped in the order dead, gone, paywalled, redirected; the healthy page is absent.
    order = [out.index(h) for h in ("DEAD (1)", "GONE (1)", "PAYWALLED (1)", "REDIRECTED (1)")]
    assert order == sorted(order) and "example.org/fine" not in out
    story = out[out.index("REDIRECTED") :]
    assert "A story about models" in story and STORY in story
    assert "now goes to https://news.example.org/" in story
    assert f"redirected since {(T0 + 60 * DAY):%Y-%m-%d}" in story
    assert "cited by: ai-safety-overview, compute-governance" in story
    # The last good capture is the story itself, not the home page it now redirects to.
    assert (
        f"last good capture: {caps['revisit']} of {(T0 + 45 * DAY):%Y-%m-%d}"
        f" · http://127.0.0.1:8600/replay/{caps['revisit']}"
    ) in story
    dead = out[out.index("DEAD") : out.index("GONE")]
    assert "(untitled)" in dead and "no good capture archived" in dead
    assert "cited by: (no pages recorded)" in dead


def test_report_json_and_viewer_address(archive: Archive, caps: dict[str, str]) -> None:
    result = archive("report", "--json", ARCHIVE_VIEWER_URL="https://viewer.example.org/")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["state"], r["resource_id"]) for r in rows] == [
        ("dead", "nxdomain"),
        ("gone", "vanished"),
        ("paywalled", "walled"),
        ("redirected", "story"),
    ]
    gone = rows[1]
    assert gone["since"] == (T0 + 31 * DAY).isoformat()
    assert gone["cited_by"] == ["eval-methods"] and gone["final_url"] is None
    assert gone["last_good_capture"] == {
        "capture_id": caps["vanished_ok"],
        "fetched_at": T0.isoformat(),
        "replay_url": f"https://viewer.example.org/replay/{caps['vanished_ok']}",
    }
    assert rows[0]["last_good_capture"] is None and rows[2]["last_good_capture"] is None
    assert rows[3]["final_url"] == "https://news.example.org/"
    assert rows[3]["stable_id"].startswith("sid_")


def test_report_csv_with_chosen_states(archive: Archive, caps: dict[str, str]) -> None:
    result = archive("report", "--csv", "--state", "redirected,gone")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["state"] for r in rows] == ["redirected", "gone"]  # the order asked for
    story = rows[0]
    assert story["url"] == STORY and story["title"] == "A story about models"
    assert story["cited_by"] == "ai-safety-overview; compute-governance"
    assert story["last_good_capture_id"] == caps["revisit"]
    assert story["replay_url"] == f"http://127.0.0.1:8600/replay/{caps['revisit']}"
    assert story["since"] == (T0 + 60 * DAY).isoformat()


def test_report_states_are_checked(archive: Archive) -> None:
    bad = archive("report", "--state", "dead,rotten")
    assert bad.exit_code == 2 and "rotten" in bad.output and "paywalled" in bad.output
    empty = archive("report")
    assert empty.exit_code == 0
    assert empty.stdout.strip() == "No resources are dead or gone or paywalled or redirected."
    assert json.loads(archive("report", "--json").stdout) == []
    assert archive("report", "--csv").stdout.startswith("state,since,resource_id,")


def test_history_lists_captures_newest_first(archive: Archive, caps: dict[str, str]) -> None:
    result = archive("history", STORY)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(STORY) and "redirected" in lines[0]
    ids = [line.split()[0] for line in lines[1:]]
    assert ids == [caps["home"], caps["revisit"], caps["second"], caps["first"]]
    home, revisit, second, first = lines[1:]
    assert f"{(T0 + 60 * DAY):%Y-%m-%d %H:%M}" in home and "HTTP 200" in home
    assert "changed" in home and "revisit" not in home
    assert home.endswith("-> https://news.example.org/") and "->" not in second
    assert "revisit" in revisit and "changed" not in revisit
    assert "changed" in second and "chars changed" in second
    assert "changed" not in first  # nothing to compare the first text with
    assert "4 captures" in result.output  # the count goes to stderr

    dead = archive("history", "nxdomain").stdout.splitlines()
    assert len(dead) == 4 and all(" dns " in line for line in dead[1:])


def test_history_json_by_stable_id(archive: Archive, caps: dict[str, str]) -> None:
    with archive.store.session() as s:
        sid = s.get(Resource, "vanished").stable_id  # type: ignore[union-attr]
    result = archive("history", "--json", sid)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["capture_id"] for r in rows][::2] == [caps["vanished_gone"], caps["vanished_ok"]]
    assert [r["http_status"] for r in rows] == [404, 404, 200]
    assert rows[2]["content_length"] == len("A post.") and rows[2]["text_changed"] is None
    missing = archive("history", "no-such-thing")
    assert missing.exit_code == 1 and "no resource" in missing.output


def test_diff_of_two_captures(archive: Archive, caps: dict[str, str]) -> None:
    result = archive("diff", caps["first"], caps["second"])
    assert result.exit_code == 1, result.output  # like diff(1): different
    out = result.stdout.splitlines()
    assert out[0] == f"--- {caps['first']} {T0:%Y-%m-%d %H:%M:%S} UTC"
    assert out[1] == f"+++ {caps['second']} {(T0 + 30 * DAY):%Y-%m-%d %H:%M:%S} UTC"
    assert "-Compute doubles every few months." in out
    assert "+Compute doubles every six months." in out
    assert " Models are getting larger." in out

    same = archive("diff", caps["second"], caps["revisit"])
    assert same.exit_code == 0, same.output
    assert same.stdout.startswith("no change in text:")
    assert caps["second"] in same.stdout and caps["revisit"] in same.stdout


def test_diff_of_a_resource_takes_its_last_two_texts(
    archive: Archive, caps: dict[str, str]
) -> None:
    result = archive("diff", "story")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"--- {caps['revisit']} ")
    assert "+Welcome to News Example." in result.stdout


def test_diff_trouble_exits_2(archive: Archive, caps: dict[str, str]) -> None:
    nothing = archive("diff", "cap_nothere", caps["first"])
    assert nothing.exit_code == 2 and "no capture cap_nothere" in nothing.output
    with archive.store.session() as s:
        failed = s.get(Resource, "nxdomain").captures[0].capture_id  # type: ignore[union-attr]
    no_text = archive("diff", caps["first"], failed)
    assert (
        no_text.exit_code == 2 and "dns" in no_text.output and "no extracted text" in no_text.output
    )
    one = archive("diff", "fine")
    assert one.exit_code == 2 and "1 captures with text" in one.output
    unknown = archive("diff", "no-such-thing")
    assert unknown.exit_code == 2 and "no resource" in unknown.output


class FakeWayback:
    """The Wayback availability API on loopback: a copy of the defunct lab's paper, none of
    anything else, and an error for the journal."""

    def __init__(self) -> None:
        import http.server
        import threading
        from urllib.parse import parse_qs, urlsplit

        asked: list[dict[str, list[str]]] = []
        self.asked = asked

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                query = parse_qs(urlsplit(self.path).query)
                asked.append(query)
                url = query["url"][0]
                if "journal" in url:
                    self.send_error(503)
                    return
                snapshots = {}
                if "defunct-lab" in url:
                    snapshots["closest"] = {
                        "available": True,
                        "status": "200",
                        "timestamp": "20251230101500",
                        "url": f"http://web.archive.org/web/20251230101500/{url}",
                    }
                body = json.dumps({"url": url, "archived_snapshots": snapshots}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.api = f"http://127.0.0.1:{self.server.server_address[1]}/wayback/available"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def wayback() -> Iterator[FakeWayback]:
    fake = FakeWayback()
    yield fake
    fake.close()


def test_report_asks_the_wayback_machine_for_what_we_never_archived_well(
    archive: Archive, caps: dict[str, str], wayback: FakeWayback
) -> None:
    result = archive("report", "--json", "--wayback", ARCHIVE_WAYBACK_API=wayback.api)
    assert result.exit_code == 0, result.output
    rows = {r["resource_id"]: r for r in json.loads(result.stdout)}
    # only the pages we hold no good capture of are asked about, as of when they broke
    asked = {q["url"][0]: q["timestamp"][0] for q in wayback.asked}
    lab, journal = "https://defunct-lab.example/paper.html", "https://journal.example.com/article/7"
    assert set(asked) == {lab, journal}
    assert asked[lab] == f"{datetime.fromisoformat(rows['nxdomain']['since']):%Y%m%d%H%M%S}"
    assert rows["nxdomain"]["wayback"] == {
        "url": f"http://web.archive.org/web/20251230101500/{lab}",
        "archived_at": "2025-12-30T10:15:00+00:00",
    }
    assert "wayback" not in rows["vanished"] and "wayback" not in rows["story"]  # ours serve
    assert "wayback" not in rows["walled"]  # the lookup failed: no verdict, a warning
    assert f"Wayback Machine lookup failed: {journal}" in result.stderr

    text = archive("report", "--wayback", "--state", "dead", ARCHIVE_WAYBACK_API=wayback.api)
    assert (
        f"Wayback Machine copy of 2025-12-30: http://web.archive.org/web/20251230101500/{lab}"
        in text.stdout
    )
    csv_out = archive("report", "--csv", "--wayback", ARCHIVE_WAYBACK_API=wayback.api)
    by_id = {r["resource_id"]: r for r in csv.DictReader(io.StringIO(csv_out.stdout))}
    assert by_id["nxdomain"]["wayback_archived_at"] == "2025-12-30T10:15:00+00:00"
    assert archive("report", "--csv").stdout.splitlines()[0].endswith("replay_url")  # unasked
