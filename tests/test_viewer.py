"""The viewer's index and resource card over a store built row by row (no crawl): filters
that apply together, counts that follow them, sorting, page numbers, the types line, and
the card's preview from the last good capture. Through the Viewer WSGI app, and for the
layout in a headless Chromium over real HTTP.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import browser
import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.test import Client

from archive.registry.importer import Importer
from archive.store.db import Store
from archive.store.models import Capture, Resource
from archive.web.app import Viewer

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FILLERS = 60
PAGE = 5
CLOUD = "https://docs.example.net/learn/what-is-cc"
WIDGETS = "https://www.widgets.example/catalogue"
FLAKY = "https://flaky.example/article"
BROKEN = "https://broken.example/never"


def _registry() -> str:
    rows = [
        f"- url: {CLOUD}\n  tags: [widgets]\n",  # no title, no type: the page names it
        f"- url: {WIDGETS}\n  title: Widget catalogue\n  type: Report\n  tags: [widgets, shop]\n",
        f"- url: {FLAKY}\n  title: null\n  type: report\n",
        f"- url: {BROKEN}\n  title: Never archived\n  type: web\n",
    ]
    for n in range(FILLERS):
        kind = "paper" if n % 2 else "web"
        rows.append(
            f"- url: https://filler{n % 3}.example/page-{n:02}\n  title: Filler {n:02}\n"
            f"  type: {kind}\n  tags: [filler]\n"
        )
    return "".join(rows)


def _capture(res: Resource, n: int, when: datetime, **fields: object) -> Capture:
    defaults: dict[str, object] = {"http_status": 200, "content_type": "text/html"}
    return Capture(
        capture_id=f"cap_t{n:03}",
        resource_id=res.resource_id,
        requested_url=res.url,
        fetched_at=when,
        **(defaults | fields),
    )


def _populate(store: Store, tmp_path: Path) -> dict[str, Resource]:
    source = tmp_path / "registry.yaml"
    source.write_text(_registry(), encoding="utf-8")
    report = Importer(store, now=T0).import_file(source)
    assert not report.rejected and report.error is None
    with store.session() as s:
        by_url = {r.url: r for r in s.scalars(select(Resource))}
        cloud, flaky, broken = by_url[CLOUD], by_url[FLAKY], by_url[BROKEN]
        good = _capture(
            cloud, 1, T0, page_title="What is Cloud Computing? | Google Cloud", full_text="Cloud."
        )
        s.add(good)
        cloud.last_ok_capture_id, cloud.link_state, cloud.state_since = good.capture_id, "alive", T0
        widgets = by_url[WIDGETS]
        widgets.link_state, widgets.state_since = "gone", T0 + timedelta(days=3)
        # A good capture, then an error page: the card shows the good one.
        ok = _capture(flaky, 2, T0, page_title="Flaky article", full_text="The real article.")
        bad = _capture(
            flaky,
            3,
            T0 + timedelta(days=1),
            http_status=404,
            page_title="404 Not Found",
            full_text="Sorry, this page is not here.",
        )
        s.add_all([ok, bad])
        flaky.last_ok_capture_id, flaky.link_state = ok.capture_id, "gone"
        s.add(_capture(broken, 4, T0, http_status=None, error_class="dns-error"))
        broken.link_state = "dead"
        fillers = sorted((r for r in by_url.values() if "filler" in r.url), key=lambda r: r.title)
        for i, res in enumerate(fillers):
            res.link_state = "alive"
            res.state_since = T0 - timedelta(days=i)
            s.add(_capture(res, 10 + i, T0 - timedelta(hours=i)))
    with store.session() as s:
        return {r.url: r for r in s.scalars(select(Resource))}


@dataclass
class Page:
    status: int
    html: str

    def text(self) -> str:
        plain = re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<head\b.*?</head>", " ", self.html))
        return re.sub(r"\s+", " ", unescape(plain)).strip()

    def rows(self) -> list[str]:
        """The resource ids of the listing's rows, in order."""
        body = self.html.split("<tbody>", 1)[1]
        return re.findall(r'<td><a href="/resource/([^"]+)">', body)

    def hrefs(self, css_class: str) -> list[str]:
        return [unescape(h) for h in re.findall(rf'class="{css_class}" href="([^"]+)"', self.html)]


@pytest.fixture
def viewer(store: Store, tmp_path: Path) -> Iterator[tuple[Client, dict[str, Resource]]]:
    resources = _populate(store, tmp_path)
    yield Client(Viewer(store, replay_port=1, page_size=PAGE)), resources


def view(client: Client, path: str) -> Page:
    reply = client.get(path)
    return Page(reply.status_code, reply.get_data(as_text=True))


def test_text_search_covers_the_title_the_page_gave(viewer: tuple[Client, dict]) -> None:
    client, res = viewer
    found = view(client, "/?q=cloud")
    assert "1 matching" in found.text()
    assert found.rows() == [res[CLOUD].resource_id]
    assert "What is Cloud Computing? | Google Cloud" in found.text()
    assert view(client, "/?q=CATALOGUE").rows() == [res[WIDGETS].resource_id]  # URL and title


def test_filters_apply_together_and_counts_follow_them(viewer: tuple[Client, dict]) -> None:
    client, res = viewer
    tagged = view(client, "/?tag=widgets")
    assert sorted(tagged.rows()) == sorted([res[CLOUD].resource_id, res[WIDGETS].resource_id])
    # The state counts are those of the tagged resources, not of the whole store.
    assert "64 resources : alive 1 · gone 1 Types: report 1 · web 1" in tagged.text()
    assert view(client, "/?tag=widgets&state=gone").rows() == [res[WIDGETS].resource_id]
    assert view(client, "/?tag=shop&host=widgets.example").rows() == [res[WIDGETS].resource_id]
    assert view(client, "/?tag=widget").rows() == []  # a whole tag, not a part of one
    # Types in any case, the ones present as a choice, and "web" for a resource without one.
    report = view(client, "/?type=REPORT")
    assert sorted(report.rows()) == sorted([res[WIDGETS].resource_id, res[FLAKY].resource_id])
    options = re.search(r'<select name="type">(.*?)</select>', report.html, re.S)
    assert options and re.findall(r'<option value="([^"]*)"', options.group(1)) == [
        "",
        "paper",
        "report",
        "web",
    ]
    assert '<option value="report" selected>' in report.html
    assert res[CLOUD].resource_id in view(client, "/?type=web&q=cloud").rows()
    assert view(client, "/?type=sideways").rows() == []


def test_types_line_has_separators_and_names_the_default_type(
    viewer: tuple[Client, dict],
) -> None:
    client, _ = viewer
    text = view(client, "/").text()
    assert "Types: paper 30 · report 2 · web 32" in text
    assert "(none)" not in text


def test_sorting_by_each_column_both_ways(viewer: tuple[Client, dict]) -> None:
    client, res = viewer
    fillers = sorted((r for r in res.values() if "filler" in r.url), key=lambda r: r.title)
    ids = [r.resource_id for r in fillers]
    assert view(client, "/?tag=filler&sort=title&order=asc").rows() == ids[:PAGE]
    assert view(client, "/?tag=filler&sort=title&order=desc").rows() == ids[::-1][:PAGE]
    # Newest first by default for dates; filler N was captured N hours before T0.
    assert view(client, "/?tag=filler&sort=captured").rows() == ids[:PAGE]
    assert view(client, "/?tag=filler&sort=captured&order=asc").rows() == ids[::-1][:PAGE]
    assert view(client, "/?tag=filler&sort=since&order=desc").rows() == ids[:PAGE]
    by_host = view(client, "/?tag=filler&sort=host&order=desc&page=1")
    assert all("filler2.example" in r.url for r in fillers if r.resource_id in by_host.rows())
    # Resources never captured sort last either way.
    never = [r.resource_id for r in res.values() if r.url == WIDGETS]
    assert view(client, "/?type=report&sort=captured&order=asc").rows()[-1:] == never
    assert view(client, "/?type=report&sort=captured&order=desc").rows()[-1:] == never
    # Header links flip the order of the column sorted by, and keep the filters.
    page = view(client, "/?tag=filler&sort=title&order=asc")
    assert "/?tag=filler&sort=title&order=desc" in page.html.replace("&amp;", "&")
    assert view(client, "/?sort=sideways").status == 400
    assert "page must be a number" in view(client, "/?page=two").text()


def page_of(href: str) -> int:
    found = re.search(r"page=(\d+)", href)
    return int(found.group(1)) if found else 1  # the first page needs no argument


def test_page_numbers_first_last_and_a_window(viewer: tuple[Client, dict]) -> None:
    client, _ = viewer
    page = view(client, "/?tag=filler&sort=title&order=asc&page=6")
    assert "60 matching · page 6 of 12" in page.text()
    numbers = [page_of(h) for h in page.hrefs("page")]
    assert numbers == [1, 4, 5, 7, 8, 12] * 2  # above and below the table
    assert all("tag=filler&sort=title&order=asc" in h for h in page.hrefs("page"))
    assert '<strong class="page current" aria-current="page">6</strong>' in page.html
    assert "…" in page.text()
    first = view(client, "/?tag=filler&sort=title&order=asc")
    assert [int(re.search(r"page=(\d+)", h).group(1)) for h in first.hrefs("page")][:3] == [
        2,
        3,
        12,
    ]


def test_card_previews_the_last_good_capture(viewer: tuple[Client, dict]) -> None:
    client, res = viewer
    card = view(client, f"/resource/{res[FLAKY].resource_id}").text()
    # after the header (its search box): its own title
    assert card.startswith("cited-archive Resources Link rot Search Flaky article")
    assert "The real article." in card and "Sorry, this page is not here." not in card
    assert "(the last good capture; the latest check, Mar 2, 2026, got HTTP 404)" in card
    assert "From capture cap_t002 , the last good one." in card

    none = view(client, f"/resource/{res[BROKEN].resource_id}").text()
    assert (
        "Cached Content Preview · no good capture archived yet "
        "(latest check Mar 1, 2026: dns-error)" in none
    )
    cloud = view(client, f"/resource/{res[CLOUD].resource_id}").text()
    assert "What is Cloud Computing? | Google Cloud" in cloud.split("web ·", 1)[0]


@pytest.mark.skipif(browser.missing() is not None, reason=str(browser.missing()))
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_index_controls_in_a_browser(store: Store, tmp_path: Path) -> None:
    _populate(store, tmp_path)
    server = make_server("127.0.0.1", 0, Viewer(store, replay_port=1, page_size=PAGE))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with browser.Browser(tmp_path / "chromium") as b:
            b.get(f"http://127.0.0.1:{server.port}/?tag=filler&sort=title&order=desc&page=6")
            shot = b.screenshot(tmp_path / "index.png")
            assert shot.stat().st_size > 10_000
            controls = b.execute(
                "const q = s => document.querySelector(s);"
                "const all = s => [...document.querySelectorAll(s)];"
                "return {states: all('select[name=state] option').length,"
                " types: all('select[name=type] option').map(o => o.value),"
                " tag: q('input[name=tag]').value, host: !!q('input[name=host]'),"
                " text: !!q('input[name=q]'), sorted: all('th.sortable').length,"
                " arrows: all('th.sortable a.sort-dir').length,"
                " pages: all('nav.pages')[0].innerText,"
                " visible: q('nav.pages').getBoundingClientRect().height > 0,"
                " scripts: all('script').length}"
            )
            assert controls["states"] == 8 and controls["types"] == ["", "paper", "report", "web"]
            assert controls["tag"] == "filler" and controls["host"] and controls["text"]
            assert controls["sorted"] == 4 and controls["arrows"] == 8
            assert controls["visible"] and controls["scripts"] == 0
            assert re.fullmatch(
                r"← previous\s+1\s+…\s+4\s+5\s+6\s+7\s+8\s+…\s+12\s+next →", controls["pages"]
            ), controls["pages"]
            # The form keeps the sort: filtering by type goes on sorting by title.
            b.execute(
                "document.querySelector('select[name=type]').value = 'paper';"
                "document.querySelector('form.filters').submit()"
            )
            b.wait_for("return location.search.includes('type=paper')")
            assert "sort=title&order=desc" in b.execute("return location.search")
    finally:
        server.shutdown()
        thread.join()
