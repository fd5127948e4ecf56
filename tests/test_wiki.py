"""The wiki as it really is: its stable ids (bare or ``sid_``), its per-page citation-archive
files and the checks they record, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from werkzeug.test import Client

from archive.capture.record import FetchOutcome, new_capture_id, record_capture
from archive.cli import cli
from archive.registry import ids
from archive.registry.importer import Importer
from archive.store.db import Store
from archive.store.models import Capture, PriorCheck, Resource
from archive.web.app import Viewer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "resources"
REGISTRY = SHARED / "example-resources.yaml"
SNAPSHOT = SHARED / "example-snapshot.json"
CBS = "https://www.cbsnews.com/sanfrancisco/news/openai-exec-jan-leike-resigns-says-safety-has-taken-a-backseat/"


def run(store: Store, *args: str) -> Result:
    config = store.config
    env = {"ARCHIVE_HOME": str(config.home), "ARCHIVE_DATABASE_URL": config.database_url}
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


# --- 2. the wiki's citation-archive files -----------------------------------------------------

NIST = "https://www.nist.gov/itl/ai-risk-management-framework"
PDF = "https://arxiv.org/pdf/2310.01405"
GONE = "https://www.governance.ai/research-paper/towards-best-practices-in-agi-safety"
CITATIONS = {
    "ai-governance": """\
pageId: ai-governance
verifiedAt: 2026-02-14
totalCitations: 3
verified: 2
broken: 1
unverifiable: 0
citations:
  - footnote: 1
    url: https://www.nist.gov/itl/ai-risk-management-framework/
    linkText: AI Risk Management Framework
    claimContext: NIST released its AI Risk Management Framework in January 2023, a voluntary
      framework for organizations designing and deploying AI systems.[^1]
    fetchedAt: 2026-02-14T10:20:31.512Z
    httpStatus: 200
    pageTitle: AI Risk Management Framework | NIST
    contentSnippet: The AI RMF is intended for voluntary use and to improve the ability to
      incorporate trustworthiness considerations into the design of AI products.
    contentLength: 48213
    status: verified
    note: null
  - footnote: 2
    url: https://arxiv.org/pdf/2310.01405
    linkText: Representation Engineering (PDF)
    claimContext: Representation engineering reads and steers a model's internal
      representations.[^2]
    fetchedAt: 2026-02-14T10:20:33.090Z
    httpStatus: 200
    pageTitle: (PDF document)
    contentSnippet: null
    contentLength: 3391807
    status: verified
    note: null
  - footnote: 3
    url: https://www.governance.ai/research-paper/towards-best-practices-in-agi-safety
    linkText: 'Schuett et al., "Towards best practices in AGI safety and governance"'
    claimContext: A survey of 51 experts found broad support for pre-deployment risk
      assessments.[^3]
    fetchedAt: 2026-02-14T10:20:34.771Z
    httpStatus: 404
    pageTitle: null
    contentSnippet: null
    contentLength: 0
    status: broken
    note: HTTP 404
""",
    "interpretability": """\
pageId: interpretability
verifiedAt: 2026-02-15
totalCitations: 3
verified: 2
broken: 0
unverifiable: 1
citations:
  - footnote: 4
    url: https://arxiv.org/abs/2310.01405
    linkText: 'Representation Engineering: A Top-Down Approach to AI Transparency'
    claimContext: Zou et al. propose a top-down approach to transparency.[^4]
    fetchedAt: 2026-02-15T08:02:11.004Z
    httpStatus: 200
    pageTitle: '[2310.01405] Representation Engineering: A Top-Down Approach to AI Transparency'
    contentSnippet: 'Abstract: In this paper, we identify and characterize the emerging area of
      representation engineering (RepE).'
    contentLength: 51877
    status: verified
    note: null
  - footnote: 5
    url: https://arxiv.org/pdf/2310.01405
    linkText: Representation Engineering (PDF)
    claimContext: The paper's appendix lists the probing datasets.[^5]
    fetchedAt: 2026-02-15T08:02:12.336Z
    httpStatus: 200
    pageTitle: (PDF document)
    contentSnippet: null
    contentLength: 3391807
    status: verified
    note: null
  - footnote: 6
    url: https://x.com/janleike/status/1791498174659715494
    linkText: Jan Leike on X
    claimContext: Leike wrote that safety culture had taken a backseat to shiny products.[^6]
    fetchedAt: 2026-02-15T08:02:12.401Z
    httpStatus: null
    pageTitle: null
    contentSnippet: null
    contentLength: null
    status: unverifiable
    note: Social media domain — cannot verify automatically
""",
    "standards-bodies": """\
pageId: standards-bodies
verifiedAt: 2026-02-16
totalCitations: 3
verified: 1
broken: 1
unverifiable: 0
citations:
  - footnote: 2
    url: http://nist.gov/itl/ai-risk-management-framework?utm_source=newsletter
    linkText: NIST AI RMF
    claimContext: Standards bodies have begun publishing AI guidance.[^2]
    fetchedAt: 2026-02-16T12:00:00Z
    httpStatus: 200
    pageTitle: AI Risk Management Framework | NIST
    contentSnippet: The AI RMF is intended for voluntary use.
    contentLength: 48213
    status: verified
    note: null
  - footnote: 3
    url: https://standards.example.org/ai/working-group-7
    linkText: Working group 7 charter
    claimContext: The working group first met in 2024.[^3]
    fetchedAt: 2026-02-16T12:00:01Z
    httpStatus: 0
    pageTitle: null
    contentSnippet: null
    contentLength: 0
    status: broken
    note: getaddrinfo ENOTFOUND standards.example.org
  - footnote: 7
    url: https://www.iso.org/standard/81230.html
    linkText: ISO/IEC 42001
    claimContext: ISO/IEC 42001 specifies an AI management system.[^7]
    fetchedAt: null
    httpStatus: null
    pageTitle: null
    contentSnippet: null
    contentLength: null
    status: pending
    note: null
""",
}


@pytest.fixture
def citation_archive(tmp_path: Path) -> Path:
    """The wiki's data/citation-archive/: three pages citing overlapping URLs."""
    folder = tmp_path / "data" / "citation-archive"
    folder.mkdir(parents=True)
    for page, text in CITATIONS.items():
        (folder / f"{page}.yaml").write_text(text, encoding="utf-8")
    return folder


def _by_url(store: Store) -> dict[str, Resource]:
    with store.session() as s:
        return {r.url: r for r in s.scalars(select(Resource))}


def test_citation_files_make_and_join_resources_with_their_pages_and_footnotes(
    store: Store, citation_archive: Path
) -> None:
    Importer(store).import_file(REGISTRY)
    result = run(store, "import", str(citation_archive))
    assert result.exit_code == 0, result.output
    for page, new, prior in (("ai-governance", 1, 3), ("interpretability", 1, 3)):
        assert f"{page}.yaml: {new} new, " in result.output
        assert f"0 rejected; {prior} new prior checks" in result.output
    assert "standards-bodies.yaml: 2 new, 0 updated, 1 unchanged" in result.output

    res = _by_url(store)
    assert len(res) == 5 + 4  # the registry's five, and four URLs it did not have
    # The NIST page is cited three ways (slash, http, tracking parameter): one resource,
    # the registry's, its URL and title as the registry has them.
    nist = res[NIST]
    assert nist.resource_id == "54dbc15413425997"
    assert (nist.title, nist.cited_by) == (
        "AI Risk Management Framework",
        ["ai-governance", "standards-bodies"],
    )
    assert res[PDF].cited_by == ["ai-governance", "interpretability"]
    assert res[PDF].title == "Representation Engineering (PDF)"
    assert res["https://arxiv.org/abs/2310.01405"].cited_by == ["interpretability"]
    gone = res[GONE]
    assert gone.resource_id == ids.resource_id_for(GONE)  # the wiki's own rule
    assert gone.title == 'Schuett et al., "Towards best practices in AGI safety and governance"'
    assert gone.meta == {}  # the check is kept apart, not as a field of the resource

    again = run(store, "import", str(citation_archive))
    assert again.output.count("0 new, 0 updated, 3 unchanged, 0 rejected; 0 new prior checks") == 3


def test_prior_checks_show_on_the_card_and_never_count_as_ours(
    store: Store, citation_archive: Path
) -> None:
    Importer(store).import_file(REGISTRY)
    Importer(store).import_file(citation_archive / "ai-governance.yaml")
    Importer(store).import_file(citation_archive / "interpretability.yaml")
    Importer(store).import_file(citation_archive / "standards-bodies.yaml")

    card = run(store, "show", PDF).output
    assert "Cited by: ai-governance [^2], interpretability [^5]" in card
    assert "Captures: 0" in card
    assert "Prior checks by the wiki: 2 (its own; not our captures, not counted)" in card
    assert "  2026-02-15 · interpretability [^5] · HTTP 200 · verified · (PDF document)" in card
    assert card.index("interpretability [^5] ·") < card.index(
        "ai-governance [^2] ·"
    )  # latest first
    nist = run(store, "show", NIST).output
    assert "Cited by: ai-governance [^1], standards-bodies [^2]" in nist
    pending = run(store, "show", "https://www.iso.org/standard/81230.html").output
    assert "  not checked · standards-bodies [^7] · pending" in pending

    shown = json.loads(run(store, "show", "--json", GONE).stdout)
    assert shown["captures"] == [] and shown["preview"] is None
    assert shown["link_state"] == "unknown" and shown["state_since"] is None
    [check] = shown["prior_checks"]
    assert check | {"claim_context": None} == {
        "page_id": "ai-governance",
        "footnote": 3,
        "url": GONE,
        "link_text": 'Schuett et al., "Towards best practices in AGI safety and governance"',
        "claim_context": None,
        "checked_at": "2026-02-14T10:20:34.771000+00:00",
        "http_status": 404,
        "status": "broken",
        "page_title": None,
        "content_snippet": None,
        "content_length": 0,
        "note": "HTTP 404",
        "verified_at": "2026-02-14",
        "source": "ai-governance.yaml",
    }
    assert check["claim_context"].startswith("A survey of 51 experts found broad support")
    pdf = json.loads(run(store, "show", "--json", PDF).stdout)["prior_checks"]
    assert [(c["page_id"], c["content_snippet"], c["page_title"]) for c in pdf] == [
        ("interpretability", None, "(PDF document)"),
        ("ai-governance", None, "(PDF document)"),
    ]

    # The viewer's card shows them the same way.
    viewer = Client(Viewer(store, replay_port=1))
    html = viewer.get(f"/resource/{shown['resource_id']}").get_data(as_text=True)
    assert "Prior checks by the wiki (1)" in html and "<li>ai-governance [^3]</li>" in html
    assert "<td>HTTP 404</td>" in html and "<td>broken</td>" in html
    html = viewer.get(f"/resource/{ids.resource_id_for(PDF)}").get_data(as_text=True)
    assert "<li>interpretability [^5]</li>" in html and "Captures (0)" in html

    # The wiki saw a 404 and a failed lookup: to us they are still unchecked, and due now.
    report = run(store, "report", "--json", "--state", "dead,gone,paywalled,redirected")
    assert json.loads(report.stdout) == []
    stats = json.loads(run(store, "stats", "--json").stdout)
    assert stats["captures"] == 0 and stats["link_states"] == {"unknown": 9}
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Capture)) == 0
        assert s.scalar(select(func.count()).select_from(PriorCheck)) == 9
        due = s.scalar(select(Resource.next_due_at).where(Resource.url == GONE))
    assert due is not None and due <= datetime.now(UTC)

    # Our first 404 is our first check: one more is needed before the page is gone.
    _our_check(store, GONE, 404)
    assert json.loads(run(store, "report", "--json", "--state", "gone").stdout) == []
    assert _by_url(store)[GONE].consecutive_failures == 1
    history = json.loads(run(store, "history", "--json", GONE).stdout)
    assert len(history) == 1


def _our_check(store: Store, url: str, status: int) -> None:
    when = datetime.now(UTC)
    with store.session() as s:
        res = s.scalar(select(Resource).where(Resource.url == url))
        assert res is not None
        cid = new_capture_id(s, res, when, store.config.hashids_salt)
        outcome = FetchOutcome(cid, res.resource_id, url, when, url, status, "text/html")
        record_capture(s, outcome, refresh_days=30, now=when)


def test_a_citation_file_without_its_page_is_refused_whole(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "nameless.yaml"
    path.write_text("verifiedAt: 2026-02-14\ncitations:\n  - url: https://x.org/a\n")
    report = Importer(store).import_file(path)
    assert report.error is not None and "needs its pageId" in report.error
    assert f"{path}:1:" in report.error
    bad_row = tmp_path / "bad-row.yaml"
    bad_row.write_text(
        "pageId: p\ncitations:\n  - footnote: 1\n    url: https://x.org/a\n"
        "  - footnote: 2\n    url: mailto:editor@x.org\n    status: broken\n"
    )
    report = Importer(store).import_file(bad_row)
    assert report.new == 1 and [(r.line, "mailto" in r.reason) for r in report.rejected] == [
        (5, True)
    ]
