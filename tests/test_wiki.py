"""The wiki as it really is: its stable ids (bare or ``sid_``), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import select

from archive.cli import cli
from archive.registry import ids
from archive.registry.importer import Importer
from archive.store.db import Store
from archive.store.models import Resource

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "resources"
REGISTRY = SHARED / "example-resources.yaml"
SNAPSHOT = SHARED / "example-snapshot.json"
CBS = "https://www.cbsnews.com/sanfrancisco/news/openai-exec-jan-leike-resigns-says-safety-has-taken-a-backseat/"


def run(store: Store, *args: str) -> Result:
    env = {
        "ARCHIVE_HOME": str(store.config.home),
        "ARCHIVE_DATABASE_URL": store.config.database_url,
    }
    return CliRunner().invoke(cli, list(args), env=env)


def wiki_stable_id(rng: random.Random) -> str:
    """The wiki's rule: left(translate(encode(gen_random_bytes(7),'base64'),'+/=-_','abcde'),10)."""
    raw = base64.b64encode(rng.randbytes(7)).decode()
    return raw.translate(str.maketrans("+/=-_", "abcde"))[:10]


# --- 1. the wiki's stable ids -----------------------------------------------------------------

INVALID = ["has space", "x" * 65, "sid_", "NTJj/OWE5Y", "caf\u00e9-1234", "sid_a.b"]


def wiki_snapshot(path: Path, rows: int = 240) -> list[dict[str, Any]]:
    """An export of the wiki's resource snapshot as it comes: most stable ids bare (older
    exports), some ``sid_``, a few hand-made with ``-`` and ``_``, some absent, a few broken."""
    rng = random.Random(7)
    entries: list[dict[str, Any]] = []
    for i in range(rows):
        url = f"https://news{i % 13}.example.com/2025/{i}/story/"
        entry: dict[str, Any] = {"id": ids.resource_id_for(url), "url": url, "title": f"Story {i}"}
        if i % 40 == 7:
            entry["stable_id"] = INVALID[(i // 40) % len(INVALID)]
        elif i % 3 == 0:
            entry["stable_id"] = "sid_" + wiki_stable_id(rng)
        elif i % 17 == 5:
            entry["stable_id"] = f"hand_made-{i}"
        elif i % 11 != 4:
            entry["stable_id"] = wiki_stable_id(rng)
        entry |= {"fetch_status": "ok", "last_fetched_at": "2026-04-09T00:00:00Z"}
        entries.append(entry)
    entries.append({"id": 42, "url": "https://x.org/nested", "stable_id": {"not": "an id"}})
    path.write_text(json.dumps(entries, indent=2), encoding="utf-8")
    return entries


def test_bare_sid_and_mixed_stable_ids_all_import_verbatim(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "resources-snapshot.json"
    entries = wiki_snapshot(path)
    text = path.read_text(encoding="utf-8")
    report = Importer(store).import_file(path)
    assert (report.new, report.rejected) == (len(entries), [])

    bad = [(n, e) for n, e in enumerate(entries) if "stable_id" in e and not _plausible(e)]
    assert len(bad) == 7
    assert len(report.warnings) == len(bad)
    lines = _object_lines(text)
    for (n, entry), warning in zip(bad, report.warnings, strict=True):
        assert warning.startswith(f"{path}:{lines[n]}: stable_id ")
        assert "ignored: not a plausible id" in warning
        res = _get(store, str(entry["id"]))
        assert res.stable_id.startswith("sid_") and res.stable_id_source == "generated"
        assert ids.decode_stable_id(res.stable_id, store.config.hashids_salt) == res.number

    with store.session() as s:
        stored = dict(s.execute(select(Resource.resource_id, Resource.stable_id)).all())
    kept = [e for e in entries if "stable_id" in e and _plausible(e)]
    assert len(kept) > 150
    assert {e["id"]: e["stable_id"] for e in kept}.items() <= stored.items()
    assert len(set(stored.values())) == len(entries)

    again = Importer(store).import_file(path)
    assert (again.new, again.updated, again.unchanged) == (0, 0, len(entries))


def _plausible(entry: dict[str, Any]) -> bool:
    sid = entry["stable_id"]
    return isinstance(sid, str) and sid not in INVALID


def _object_lines(text: str) -> list[int]:
    """The line each top-level object of an ``indent=2`` JSON array starts on."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line == "  {"]


def _get(store: Store, rid: str) -> Resource:
    with store.session() as s:
        res = s.get(Resource, rid)
        assert res is not None
        return res


def test_show_finds_a_resource_by_every_spelling_of_its_stable_id(
    store: Store, tmp_path: Path
) -> None:
    rows = [
        {"id": "bare", "url": "https://x.org/bare", "stable_id": "NTJjOWE5Yj"},
        {"id": "prefixed", "url": "https://x.org/prefixed", "stable_id": "sid_zdhec5IYfo"},
        {"id": "hand", "url": "https://x.org/hand", "stable_id": "wiki-page_7"},
        {"id": "broken", "url": "https://x.org/broken", "stable_id": "not one!"},
    ]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    imported = run(store, "import", str(path))
    assert imported.exit_code == 0, imported.output
    assert f"warning: {path}:1: stable_id 'not one!' ignored" in imported.output
    generated = _get(store, "broken").stable_id
    refs = {
        "bare": ["NTJjOWE5Yj", "sid_NTJjOWE5Yj"],
        "prefixed": ["sid_zdhec5IYfo", "zdhec5IYfo"],
        "hand": ["wiki-page_7", "sid_wiki-page_7"],
        "broken": [generated, generated.removeprefix("sid_")],
    }
    for rid, forms in refs.items():
        cards = {run(store, "show", ref).output for ref in forms}
        assert len(cards) == 1, forms
        footer = f"Resource ID: {rid} | Stable ID: {_get(store, rid).stable_id}"
        assert footer in cards.pop()
        shown = json.loads(run(store, "show", "--json", forms[-1]).stdout)
        assert shown["resource_id"] == rid
    assert _get(store, "bare").stable_id == "NTJjOWE5Yj"  # verbatim, never prefixed
    assert run(store, "show", "sid_NoSuchId12").exit_code == 1


def test_a_later_stable_id_is_displayed_and_the_old_one_still_resolves(
    store: Store, tmp_path: Path
) -> None:
    Importer(store).import_file(REGISTRY)
    before = _get(store, "e751ccb632c5857b").stable_id
    assert before.startswith("sid_")
    old_export = tmp_path / "old.json"  # the wiki's older export: the bare ten characters
    old_export.write_text(
        json.dumps([{"id": "e751ccb632c5857b", "url": CBS, "stable_id": "zdhec5IYfo"}]),
        encoding="utf-8",
    )
    assert Importer(store).import_file(old_export).updated == 1
    res = _get(store, "e751ccb632c5857b")
    assert (res.stable_id, res.meta["stable_id_aliases"]) == ("zdhec5IYfo", [before])
    # the newer export spells the same id with sid_: one id, kept as stored, no conflict
    newer = Importer(store).import_file(SNAPSHOT)
    assert (newer.new, newer.rejected) == (0, [])  # its other fields update the resource
    assert _get(store, "e751ccb632c5857b").stable_id == "zdhec5IYfo"
    for ref in (before, "zdhec5IYfo", "sid_zdhec5IYfo", CBS):
        assert "Stable ID: zdhec5IYfo" in run(store, "show", ref).output, ref

    # ... and that id is this resource's alone, in either spelling
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps([{"url": "https://x.org/other", "stable_id": "sid_zdhec5IYfo"}]),
        encoding="utf-8",
    )
    taken = Importer(store).import_file(other)
    assert taken.new == 0 and "already belongs to e751ccb632c5857b" in taken.rejected[0].reason
