"""Importing the wiki's resource lists: ids, idempotence, lookups, and every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from archive.cli import cli
from archive.registry import ids
from archive.registry.importer import Importer
from archive.registry.lookup import NotFound, find_resource
from archive.store.db import Store
from archive.store.models import Resource

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "resources"
REGISTRY = SHARED / "example-resources.yaml"
SNAPSHOT = SHARED / "example-snapshot.json"
CBS = "https://www.cbsnews.com/sanfrancisco/news/openai-exec-jan-leike-resigns-says-safety-has-taken-a-backseat/"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(Resource)) or 0


def get(store: Store, rid: str) -> Resource:
    with store.session() as s:
        res = s.get(Resource, rid)
        assert res is not None
        return res


def test_sha256_rule_matches_the_wiki() -> None:
    assert ids.resource_id_for(CBS) == "e751ccb632c5857b"


def test_stable_and_capture_ids_decode() -> None:
    number = ids.resource_number("e751ccb632c5857b")
    sid = ids.stable_id_for(number, "salt")
    assert sid.startswith("sid_") and len(sid) >= 14
    assert ids.decode_stable_id(sid, "salt") == number
    assert ids.decode_stable_id("sid_zdhec5IYfo", "salt") is None  # the wiki's opaque ids
    from datetime import UTC, datetime

    when = datetime(2026, 4, 9, 12, 0, 5, tzinfo=UTC)
    cap = ids.capture_id_for(number, when, "salt", sequence=2)
    key = ids.decode_capture_id(cap, "salt")
    assert key is not None
    assert (key.resource_number, key.captured_at, key.sequence) == (number, when, 2)


def test_import_registry_then_snapshot(store: Store) -> None:
    first = Importer(store).import_file(REGISTRY)
    assert (first.new, first.updated, first.unchanged, len(first.rejected)) == (5, 0, 0, 0)
    assert first.warnings and ":14:" in first.warnings[0]  # the unquoted "title: A: B"
    sid_before = get(store, "e751ccb632c5857b").stable_id

    again = Importer(store).import_file(REGISTRY)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 5)

    snap = Importer(store).import_file(SNAPSHOT)
    assert (snap.new, snap.updated) == (0, 1)
    res = get(store, "e751ccb632c5857b")
    assert res.stable_id == "sid_zdhec5IYfo"  # the wiki's own stable id, kept verbatim
    assert res.meta["fetch_status"] == "ok" and res.meta["stable_id_aliases"] == [sid_before]
    assert count(store) == 5
    # The generated id it replaced still finds the resource (it decodes to its number).
    with store.session() as s:
        assert (
            find_resource(s, sid_before, store.config.hashids_salt).resource_id == res.resource_id
        )

    third = Importer(store).import_file(SNAPSHOT)
    assert (third.new, third.updated, third.unchanged) == (0, 0, 1)
    for rid in ("5d708a72c3af8ad9", "f201d87cf0e94235"):  # computed by the sha256 rule
        assert get(store, rid).url.startswith("https://arxiv.org/")
    assert get(store, "5d708a72c3af8ad9").meta["published_date"] == "2023-10-02"


def test_cited_by_accumulates_and_unknown_fields_are_kept(store: Store, tmp_path: Path) -> None:
    a = write(
        tmp_path, "a.yaml", f"- url: {CBS}\n  cited_by: [p1]\n  key_points: [x]\n  custom: 7\n"
    )
    b = write(tmp_path, "b.yaml", f"- url: {CBS}\n  cited_by: [p2, p1]\n")
    Importer(store).import_file(a)
    report = Importer(store).import_file(b)
    assert report.updated == 1
    res = get(store, "e751ccb632c5857b")
    assert res.cited_by == ["p1", "p2"]
    assert res.meta == {"key_points": ["x"], "custom": 7}


def test_refresh_interval_per_resource(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "- url: https://x.org/weekly\n  refresh_days: 7\n")
    Importer(store).import_file(path)
    res = get(store, ids.resource_id_for("https://x.org/weekly"))
    assert res.refresh_seconds == 7 * 86400 and "refresh_days" not in res.meta
    path.write_text("- url: https://x.org/weekly\n  refresh_days: 1.5\n")
    assert Importer(store).import_file(path).updated == 1
    assert get(store, res.resource_id).refresh_seconds == 129600


def test_url_edit_keeps_ids(store: Store, tmp_path: Path) -> None:
    Importer(store).import_file(write(tmp_path, "a.yaml", "- id: abc\n  url: https://x.org/old\n"))
    sid = get(store, "abc").stable_id
    # A changed URL is taken only when allowed (else it is refused: tests/test_first_use.py).
    moved = write(tmp_path, "b.yaml", "- id: abc\n  url: https://x.org/new\n")
    Importer(store, allow_url_change=True).import_file(moved)
    res = get(store, "abc")
    assert (res.url, res.stable_id) == ("https://x.org/new", sid)


def test_ids_that_look_like_numbers_are_kept_as_written(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "n.yaml", "- id: 0123456701234567\n  url: https://x.org/n\n")
    assert Importer(store).import_file(path).new == 1
    assert get(store, "0123456701234567").url == "https://x.org/n"


BAD_ROWS = [
    ("- title: no url here\n", "no url"),
    ("- url: ftp://x.org/file\n", "scheme is 'ftp'"),
    ("- url: mailto:someone@x.org\n", "scheme is 'mailto'"),
    ("- url: 'http://[::1/broken'\n", "cannot be parsed"),
    ("- url: https:///nohost\n", "no host"),
    ('- url: "https://x.org/a\\tb"\n', "control characters"),
    ("- url: https://x.org/" + "a" * 9000 + "\n", "longer than 8 KB"),
    ("- just a string\n", "not a mapping"),
    ("- url: https://x.org/ok\n  id: 'bad id!'\n", "not a valid id"),
    ("- url: https://x.org/ok\n  tags: {a: 1}\n", "tags must be a list"),
    ("- url: https://x.org/ok\n  refresh_days: soon\n", "not a number of days"),
    ("- url: https://x.org/ok\n  refresh_days: 0\n", "between 1 hour and 10 years"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_bad_row_is_reported_and_skipped(
    store: Store, tmp_path: Path, row: str, reason: str
) -> None:
    text = "- url: https://good.org/1\n" + row + "- url: https://good.org/2\n"
    report = Importer(store).import_file(write(tmp_path, "r.yaml", text))
    assert report.new == 2
    assert len(report.rejected) == 1
    assert report.rejected[0].line == 2
    assert reason in report.rejected[0].reason


def test_duplicate_id_with_a_different_url(store: Store, tmp_path: Path) -> None:
    text = "- id: a1\n  url: https://x.org/1\n- id: a1\n  url: https://x.org/2\n"
    report = Importer(store).import_file(write(tmp_path, "d.yaml", text))
    assert report.new == 1
    [bad] = report.rejected
    assert bad.line == 3 and "duplicate id a1 with a different URL (line 1" in bad.reason


def test_stable_id_taken_by_another_resource(store: Store, tmp_path: Path) -> None:
    text = (
        '[{"id": "a", "url": "https://x.org/a", "stable_id": "sid_same1"},\n'
        ' {"id": "b", "url": "https://x.org/b", "stable_id": "sid_same1"}]'
    )
    report = Importer(store).import_file(write(tmp_path, "s.json", text))
    assert report.new == 1
    [bad] = report.rejected
    assert bad.line == 2 and "already belongs to a" in bad.reason


MALFORMED = [
    ("bad.yaml", "- url: https://x.org/1\n- url: [unclosed\n", 3, "sequence started at line 2"),
    ("bad.json", '[{"url": "https://x.org/1"},\n {"url": }]', 2, "invalid JSON"),
    ("bad.csv", "title,link\nA,https://x.org\n", 1, "no 'url' column"),
    ("bad.csv", 'url,title\nhttps://x.org/1,"unterminated\n', None, "CSV"),
    ("top.yaml", "url: https://x.org/1\n", 1, "expected a list"),
    ("latin1.txt", None, 2, "not UTF-8"),
]


@pytest.mark.parametrize(("name", "text", "line", "reason"), MALFORMED)
def test_malformed_file_changes_nothing(
    store: Store,
    tmp_path: Path,
    name: str,
    text: str | None,
    line: int | None,
    reason: str,
) -> None:
    path = tmp_path / name
    if text is None:
        path.write_bytes(b"https://x.org/1\nhttps://x.org/caf\xe9\n")
    else:
        path.write_text(text, encoding="utf-8")
    report = Importer(store).import_file(path)
    assert report.error is not None and reason in report.error
    assert str(path) in report.error
    if line is not None:
        assert f"{path}:{line}:" in report.error
    assert count(store) == 0


def test_csv_and_text_lists(store: Store, tmp_path: Path) -> None:
    csv_path = write(
        tmp_path,
        "l.csv",
        "url,title,tags\nhttps://x.org/1,One,a;b\nnot a url,Bad,\nhttps://x.org/2,,\n",
    )
    report = Importer(store).import_file(csv_path)
    assert (report.new, [r.line for r in report.rejected]) == (2, [3])
    assert get(store, ids.resource_id_for("https://x.org/1")).tags == ["a", "b"]
    txt = write(
        tmp_path, "l.txt", "# cited\nhttps://x.org/1\n\nhttps://x.org/3\njavascript:alert(1)\n"
    )
    report = Importer(store).import_file(txt)
    assert (report.new, report.unchanged, [r.line for r in report.rejected]) == (1, 1, [5])


def test_interrupted_import_leaves_store_as_before(store: Store, tmp_path: Path) -> None:
    Importer(store).import_file(write(tmp_path, "a.yaml", "- url: https://x.org/1\n"))

    class Boom(Importer):
        def _new_resource(self, entry, number):  # type: ignore[no-untyped-def]
            if entry.url.endswith("/3"):
                raise KeyboardInterrupt
            return super()._new_resource(entry, number)

    text = "".join(f"- url: https://x.org/{i}\n  cited_by: [z]\n" for i in range(1, 5))
    with pytest.raises(KeyboardInterrupt):
        Boom(store).import_file(write(tmp_path, "b.yaml", text))
    assert count(store) == 1
    assert get(store, ids.resource_id_for("https://x.org/1")).cited_by == []


def test_lookup_by_id_sid_and_url_variants(store: Store) -> None:
    Importer(store).import_file(REGISTRY)
    Importer(store).import_file(SNAPSHOT)
    salt = store.config.hashids_salt
    with store.session() as s:
        for ref in (
            "e751ccb632c5857b",
            "sid_zdhec5IYfo",
            CBS,
            CBS.rstrip("/"),
            CBS.replace("https://www.", "http://"),
            CBS + "#comments",
            CBS + "?utm_source=twitter",
        ):
            assert find_resource(s, ref, salt).resource_id == "e751ccb632c5857b", ref
        with pytest.raises(NotFound):
            find_resource(s, "ffffffffffffffff", salt)
        with pytest.raises(NotFound):
            find_resource(s, "sid_doesnotexist", salt)


def make_registry(path: Path, n: int) -> list[tuple[str | None, str]]:
    """A registry shaped like the wiki's: most entries carry an id, some don't, a few hand-made."""
    rows = []
    with path.open("w") as f:
        for i in range(n):
            url = f"https://news{i % 97}.example.com/2024/{i}/story-{i}/"
            rid = (
                None
                if i % 5 == 0
                else ("hand-" + str(i) if i % 500 == 1 else ids.resource_id_for(url))
            )
            rows.append((rid, url))
            f.write(f"- url: {url}\n")
            if rid:
                f.write(f"  id: {rid}\n")
            f.write(f"  title: Story {i}: what happened\n  type: web\n  tags: [t{i % 7}]\n")
            f.write(f"  cited_by:\n    - page-{i % 300}\n  summary: Summary of {i}.\n")
    return rows


def test_import_six_thousand_entries(store: Store, tmp_path: Path) -> None:
    rows = make_registry(tmp_path / "big.yaml", 6000)
    report = Importer(store).import_file(tmp_path / "big.yaml")
    assert (report.new, len(report.rejected)) == (6000, 0)
    with store.session() as s:
        stored = dict(s.execute(select(Resource.url, Resource.resource_id)).all())
        assert len(set(s.scalars(select(Resource.stable_id)))) == 6000
    for rid, url in rows:
        assert stored[url] == (rid or ids.resource_id_for(url))
    again = Importer(store).import_file(tmp_path / "big.yaml")
    assert (again.new, again.updated, again.unchanged) == (0, 0, 6000)


def test_cli_show_prints_the_same_card_for_id_sid_and_url(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"ARCHIVE_HOME": str(tmp_path / "h"), "ARCHIVE_DATABASE_URL": ""}
    result = runner.invoke(cli, ["import", str(REGISTRY), str(SNAPSHOT)], env=env)
    assert result.exit_code == 0, result.output
    assert "5 new" in result.output and "1 updated" in result.output
    cards = [
        runner.invoke(cli, ["show", ref], env=env).output
        for ref in ("e751ccb632c5857b", "sid_zdhec5IYfo", CBS.rstrip("/"))
    ]
    assert cards[0] == cards[1] == cards[2]
    assert "Resource ID: e751ccb632c5857b | Stable ID: sid_zdhec5IYfo" in cards[0]
    assert "Cited by: corporate-influence" in cards[0]

    listed = json.loads(runner.invoke(cli, ["list", "--json", "--type", "paper"], env=env).output)
    assert {r["url"] for r in listed} == {
        "https://arxiv.org/abs/2310.01405",
        "https://arxiv.org/pdf/2310.01405",
    }
    assert set(listed[0]) >= {"resource_id", "stable_id", "url", "title", "type", "link_state"}
    tagged = json.loads(
        runner.invoke(cli, ["list", "--json", "--tag", "standards"], env=env).output
    )
    assert [r["resource_id"] for r in tagged] == ["54dbc15413425997"]
    missing = runner.invoke(cli, ["show", "nothing-like-this"], env=env)
    assert missing.exit_code == 1 and "no resource" in missing.output

    bad = write(tmp_path, "bad.json", "[{")
    result = runner.invoke(cli, ["import", str(bad)], env=env)
    assert result.exit_code == 1 and f"{bad}:1:" in result.output
