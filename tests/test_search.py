"""``archive search`` and the index under it, on SQLite and PostgreSQL: words only in a
page's body, phrases, exclusions, prefixes, ranking, the last good capture, snippets,
non-Latin text, and queries that have nothing to search for."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner, Result
from stores import _pg_schema_url

from archive.capture.preview import Preview
from archive.capture.record import FetchOutcome, new_capture_id, record_capture
from archive.cli.context import Context
from archive.cli.search import search as search_cmd
from archive.config import load_config
from archive.inspect.search import QueryError, SearchFilter, search
from archive.registry.importer import Importer
from archive.store import fulltext
from archive.store.db import Store, alembic_config, make_engine
from archive.store.models import Capture, Resource
from archive.store.search_syntax import CJK_TEXT_CAP, TEXT_CAP, parse_query

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
REGISTRY = """
- id: moths
  url: https://science.example.org/moths
  title: Night flyers
  type: paper
  tags: [insects]
- id: bakery
  url: https://www.bakery.example.com/menu
- id: tokyo
  url: https://jp.example.net/tokyo
- id: moscow
  url: https://ru.example.net/moscow
- id: lamps
  url: https://lamps.example.org/post
"""
MOTHS = (
    "Moths are drawn to artificial light at night. The peppered moth changed colour "
    "during the industrial revolution, a textbook case of natural selection."
)
BAKERY = "Our café serves croissants and sourdough every morning. Closed on Mondays."
TOKYO = "私は東京都に住んでいます。毎朝、電車で会社に行きます。"
MOSCOW = "Москва — столица России. Метро открылось в 1935 году."
LAMPS = "A post about lamps. Moths gather around the lamps at night, nothing more. DVOŘÁK."


def fetch(store: Store, rid: str, when: datetime, text: str | None, status: int = 200) -> str:
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
                final_url=res.url,
                http_status=status,
                content_type="text/html",
                payload_length=len(text or "") * 10,
                preview=Preview(full_text=text, page_title=f"{rid} page") if text else None,
            ),
            refresh_days=30,
            now=when,
        )
        return cid


@pytest.fixture
def archive(store: Store, tmp_path: Path) -> Store:
    path = tmp_path / "resources.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    assert Importer(store, now=T0).import_file(path).new == 5
    for rid, text in (
        ("moths", MOTHS),
        ("bakery", BAKERY),
        ("tokyo", TOKYO),
        ("moscow", MOSCOW),
        ("lamps", LAMPS),
    ):
        fetch(store, rid, T0, text)
    return store


def found(store: Store, query: str, **filters: object) -> list[str]:
    with store.session() as s:
        return [h.resource_id for h in search(s, query, SearchFilter(**filters)).hits]  # type: ignore[arg-type]


def test_a_word_only_in_the_body_finds_the_page(archive: Store) -> None:
    assert found(archive, "peppered") == ["moths"]
    assert found(archive, "SOURDOUGH") == ["bakery"]
    assert found(archive, "nowhere") == []


def test_phrases_exclusions_and_prefixes(archive: Store) -> None:
    assert sorted(found(archive, "moths night")) == ["lamps", "moths"]
    assert found(archive, '"artificial light"') == ["moths"]
    assert found(archive, '"light artificial"') == []
    assert found(archive, "night -lamps") == ["moths"]
    assert found(archive, 'moths -"natural selection"') == ["lamps"]
    assert found(archive, "croiss*") == ["bakery"]
    assert found(archive, "croiss") == []
    assert found(archive, '"natural sel"*') == ["moths"]


def test_results_are_ranked(archive: Store) -> None:
    """A page with the word in its title and twice in its text comes before one with it
    once in a longer text."""
    assert found(archive, "lamps") == ["lamps"]
    fetch(archive, "moths", T0 + DAY, MOTHS + " Street lamps attract them. " * 3)
    assert found(archive, "lamps") == ["lamps", "moths"]
    with archive.session() as s:
        hits = search(s, "lamps").hits
    assert hits[0].score != hits[1].score


def test_titles_and_urls_are_searched_too(archive: Store) -> None:
    assert found(archive, "bakery") == ["bakery"]  # its URL and its page's title
    assert found(archive, "science") == ["moths"]  # the host


def test_a_later_capture_without_the_word_hides_the_page_unless_all_captures(
    archive: Store,
) -> None:
    fetch(archive, "bakery", T0 + 10 * DAY, "Our tea room serves scones. Open every day.")
    assert found(archive, "croissants") == []
    assert found(archive, "scones") == ["bakery"]
    with archive.session() as s:
        hits = search(s, "croissants", SearchFilter(all_captures=True)).hits
    assert [h.resource_id for h in hits] == ["bakery"]
    assert hits[0].fetched_at == T0
    # a later failed check is no good copy: the last good one is still found
    fetch(archive, "moths", T0 + 20 * DAY, "Not found", status=404)
    assert found(archive, "peppered") == ["moths"]
    assert found(archive, "found", all_captures=True) == ["moths"]
    assert found(archive, "found") == []


def test_filters(archive: Store) -> None:
    assert found(archive, "night", type="paper") == ["moths"]
    assert found(archive, "night", host="www.science.example.org") == ["moths"]
    assert found(archive, "serves", host="bakery.example.com") == ["bakery"]
    assert found(archive, "night", tag="insects") == ["moths"]
    assert found(archive, "night", states=("dead",)) == []
    assert sorted(found(archive, "night", states=("alive",))) == ["lamps", "moths"]
    fetch(archive, "lamps", T0 + 5 * DAY, LAMPS + " Again.")
    assert found(archive, "night", since=T0 + DAY) == ["lamps"]


def test_non_latin_text_and_folded_diacritics(archive: Store) -> None:
    assert found(archive, "東京") == ["tokyo"]  # inside a sentence, no spaces around it
    assert found(archive, "東京都") == ["tokyo"]
    assert found(archive, "電車") == ["tokyo"]
    assert found(archive, "京") == ["tokyo"]
    assert found(archive, "大阪") == []
    assert found(archive, "москва") == ["moscow"]
    assert found(archive, "МЕТРО") == ["moscow"]
    assert found(archive, "cafe") == ["bakery"]
    assert found(archive, "CAFÉ") == ["bakery"]
    assert found(archive, "dvorak") == ["lamps"]  # a letter of Latin Extended-A
    assert found(archive, "Dvořák") == ["lamps"]


def test_the_snippet_marks_the_word(archive: Store) -> None:
    with archive.session() as s:
        (hit,) = search(s, "peppered", viewer="http://viewer.example").hits
    assert hit.snippet.marked() == MOTHS.replace("peppered", "[peppered]")
    assert hit.replay_url == f"http://viewer.example/replay/{hit.capture_id}"
    assert hit.title == "Night flyers"
    with archive.session() as s:
        (hit,) = search(s, "東京").hits
    assert "[東京]" in hit.snippet.marked()
    with archive.session() as s:
        (hit,) = search(s, "cafe").hits
    assert "[café]" in hit.snippet.marked()


def test_a_long_text_gets_a_window_around_the_word(archive: Store) -> None:
    text = "Filler words here. " * 300 + "The rare aardvark appears once. " + "More. " * 300
    fetch(archive, "lamps", T0 + DAY, text)
    with archive.session() as s:
        (hit,) = search(s, "aardvark").hits
    assert hit.snippet.text.startswith("…") and hit.snippet.text.endswith("…")
    assert "[aardvark]" in hit.snippet.marked()
    assert len(hit.snippet.text) < 300


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?!,.", "no words"),
        ("", "no words"),
        ("-moths", "only words to leave out"),
        ("x" * 10_000, "too long"),
    ],
)
def test_queries_with_nothing_to_search_for(archive: Store, query: str, message: str) -> None:
    with archive.session() as s, pytest.raises(QueryError, match=message):
        search(s, query)


def test_punctuation_inside_a_query_is_never_syntax(archive: Store) -> None:
    for query in ('moth" OR "x', "NOT moths", "moths AND", "(moths", "night^2", "a:b", "#1"):
        found(archive, query)  # no error from either database


def test_edits_and_deletes_keep_the_index(archive: Store) -> None:
    with archive.session() as s:
        capture = s.scalars(sa.select(Capture).where(Capture.resource_id == "moscow")).one()
        capture.full_text = "Санкт-Петербург на Неве."
    assert found(archive, "москва") == []
    assert found(archive, "неве") == ["moscow"]
    with archive.session() as s:
        s.execute(sa.delete(Capture).where(Capture.resource_id == "moscow"))
        s.execute(
            sa.update(Resource)
            .values(last_ok_capture_id=None)
            .where(Resource.resource_id == "moscow")
        )
    assert found(archive, "неве", all_captures=True) == []
    with archive.engine.begin() as conn:
        assert fulltext.rebuild_index(conn) == 4
    assert found(archive, "peppered") == ["moths"]


def test_a_huge_text_is_indexed_up_to_its_cap(archive: Store) -> None:
    """Past the cap nothing is indexed, and a text of distinct CJK pairs still fits a
    PostgreSQL tsvector."""
    rng = random.Random(7)
    han = "".join(chr(0x4E00 + rng.randrange(20_000)) for _ in range(CJK_TEXT_CAP + 10))
    fetch(archive, "tokyo", T0 + DAY, f"{han} zyzzyva")
    assert found(archive, "zyzzyva") == []
    assert found(archive, han[:3]) == ["tokyo"]
    latin = " ".join(f"w{i}" for i in range(TEXT_CAP // 4))
    fetch(archive, "lamps", T0 + DAY, f"{latin} {latin} aardvark")
    assert found(archive, "w7") == ["lamps"]
    assert found(archive, "aardvark") == []


# -- the command ---------------------------------------------------------------------------


class Cli:
    def __init__(self, store: Store) -> None:
        self.env = {
            "ARCHIVE_HOME": str(store.config.home),
            "ARCHIVE_DATABASE_URL": store.config.database_url,
            "ARCHIVE_VIEWER_URL": "http://viewer.example",
        }
        self.contexts: list[Context] = []

        @click.group()
        @click.pass_context
        def app(ctx: click.Context) -> None:
            ctx.obj = Context(None, read_only=True)
            self.contexts.append(ctx.obj)

        app.add_command(search_cmd)
        self.app = app

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(self.app, ["search", *args], env=self.env)

    def close(self) -> None:
        for ctx in self.contexts:
            if ctx._store is not None:
                ctx._store.close()


@pytest.fixture
def cli(archive: Store) -> Iterator[Cli]:
    app = Cli(archive)
    yield app
    app.close()


def test_the_command_prints_each_hit_with_its_snippet(cli: Cli) -> None:
    result = cli("peppered")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "1. Night flyers"
    assert lines[1] == "   https://science.example.org/moths"
    assert "http://viewer.example/replay/" in lines[2] and "2026-03-02 09:00 UTC" in lines[2]
    assert "The [peppered] moth" in lines[3]
    assert result.stderr.strip() == "1 match"


def test_the_command_gives_json(cli: Cli) -> None:
    result = cli("night", "--json", "--type", "paper")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["total"] == 1
    (hit,) = out["results"]
    assert hit["resource_id"] == "moths" and hit["title"] == "Night flyers"
    start, end = hit["highlights"][0]
    assert hit["snippet"][start:end] == "night"
    assert hit["replay_url"].endswith(hit["capture_id"])


def test_the_command_takes_every_capture_on_asking(cli: Cli, archive: Store) -> None:
    fetch(archive, "bakery", T0 + 10 * DAY, "Scones only now.")
    assert json.loads(cli("croissants", "--json").stdout)["total"] == 0
    out = json.loads(cli("croissants", "--json", "--all-captures").stdout)
    assert [h["resource_id"] for h in out["results"]] == ["bakery"]


@pytest.mark.parametrize("query", ["...", "x" * 10_000])
def test_the_command_refuses_a_query_in_one_line(cli: Cli, query: str) -> None:
    result = cli(query)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")


def test_the_command_checks_its_options(cli: Cli) -> None:
    assert cli("night", "--since", "yesterday").exit_code == 2
    assert cli("night", "--state", "sleepy").exit_code == 2
    assert json.loads(cli("night", "--json", "--since", "2026-03-03").stdout)["total"] == 0


def test_the_query_syntax() -> None:
    q = parse_query('café "New York" -bar pre* 東京都')
    assert [(t.tokens, t.prefix, t.negated) for t in q.terms] == [
        (["cafe"], False, False),
        (["new", "york"], False, False),
        (["bar"], False, True),
        (["pre"], True, False),
        (["東京", "京都"], False, False),
    ]


def test_reindex_makes_the_index_again(archive: Store) -> None:
    from archive.integrity.reindex import reindex

    if archive.engine.dialect.name == "sqlite":  # an index a VACUUM or a bad edit spoilt
        with archive.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO captures_fts (captures_fts) VALUES ('delete-all')")
        assert found(archive, "peppered") == []
    archive.config.warc_dir.mkdir(parents=True, exist_ok=True)
    report = reindex(archive)
    assert report.search_indexed == 5
    assert found(archive, "peppered") == ["moths"]


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The database URL of a store made before the index (schema 0005)."""
    if request.param == "sqlite":
        (tmp_path / "home").mkdir()
        yield f"sqlite:///{tmp_path / 'home' / 'archive.sqlite3'}"
        return
    schema = _pg_schema_url()
    yield next(schema)
    schema.close()


def test_a_store_made_before_the_index_is_indexed_when_opened(
    old_store_url: str, tmp_path: Path
) -> None:
    engine = make_engine(old_store_url)
    command.upgrade(alembic_config(engine), "0005")
    url = "https://old.example.org/page"
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Resource.__table__),
            {
                "resource_id": "old",
                "number": 1,
                "stable_id": "sid_old",
                "url": url,
                "url_key": url,
                "host": "old.example.org",
                "tags": [],
                "cited_by": [],
                "meta": {},
                "link_state": "alive",
                "first_seen_at": T0,
                "last_seen_at": T0,
                "last_ok_capture_id": "cap_old",
            },  # fmt: skip
        )
        conn.execute(
            sa.insert(Capture.__table__),
            {
                "capture_id": "cap_old",
                "resource_id": "old",
                "requested_url": url,
                "redirect_chain": [],
                "fetched_at": T0,
                "http_status": 200,
                "truncated": False,
                "is_revisit": False,
                "full_text": "Archived before search existed: a quokka.",
            },  # fmt: skip
        )
    engine.dispose()
    st = Store(load_config(home=tmp_path / "home", database_url=old_store_url))
    try:
        assert found(st, "quokka") == ["old"]
    finally:
        st.close()


def test_many_matches_rank_the_same_either_way(
    archive: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More matches than the index's first pick (the best 200 on SQLite, filtered after):
    the same pages as ranking every match, and the count stops at COUNT_MAX."""
    import archive.inspect.search as searching

    with archive.engine.begin() as conn:
        for n in range(300):
            rid, url = f"many{n:03}", f"https://many.example.org/{n}"
            state = "alive" if n % 10 == 0 else "dead"  # the filter keeps one in ten
            conn.execute(
                sa.insert(Resource.__table__),
                {
                    "resource_id": rid,
                    "number": 100 + n,
                    "stable_id": f"sid_m{n}",
                    "url": url,
                    "url_key": url,
                    "host": "many.example.org",
                    "tags": [],
                    "cited_by": [],
                    "meta": {},
                    "link_state": state,
                    "first_seen_at": T0,
                    "last_seen_at": T0,
                    "last_ok_capture_id": f"cap_m{n:03}",
                },  # fmt: skip
            )
            text = " ".join(["walrus"] * (1 + n % 7) + ["filler"] * (n % 13))
            conn.execute(
                sa.insert(Capture.__table__),
                {
                    "capture_id": f"cap_m{n:03}",
                    "resource_id": rid,
                    "requested_url": url,
                    "redirect_chain": [],
                    "fetched_at": T0 + timedelta(minutes=n),
                    "http_status": 200,
                    "truncated": False,
                    "is_revisit": False,
                    "full_text": text,
                },  # fmt: skip
            )

    def pages(**filters: object) -> list[list[str]]:
        out = []
        for page in (1, 2, 8):
            with archive.session() as s:
                results = search(s, "walrus", SearchFilter(**filters), page=page)  # type: ignore[arg-type]
                out.append([h.capture_id for h in results.hits])
                assert results.total == (300 if not filters else 30)
        return out

    quick = pages(), pages(states=("alive",))
    monkeypatch.setattr(searching, "_best_first", lambda *args: None)
    assert (pages(), pages(states=("alive",))) == quick
    assert len(quick[0][0]) == 20 and len(quick[1][0]) == 20 and len(quick[1][1]) == 10
    assert quick[1][2] == quick[1][1]  # past the last page: the last page
    monkeypatch.setattr(searching, "COUNT_MAX", 100)
    with archive.session() as s:
        results = search(s, "walrus", page=9)
    assert (results.total, results.more, results.pages, results.page) == (100, True, 5, 5)
