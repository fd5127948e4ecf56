"""The viewer's search over a store built capture by capture (no crawl): one box in every
page's header, the index's filters, snippets marked and escaped, links to the capture and
its replay, page numbers, and a friendly word for a query with nothing to search for."""

from __future__ import annotations

import re
import threading
from html import unescape
from pathlib import Path

import browser
import pytest
from test_search import DAY, T0, archive, fetch  # noqa: F401 - archive: the fixture
from werkzeug.serving import make_server
from werkzeug.test import Client

from archive.store.db import Store
from archive.web.app import Viewer


def get(store: Store, path: str, **kwargs: int) -> tuple[int, str]:
    reply = Client(Viewer(store, replay_port=1, **kwargs)).get(path)
    return reply.status_code, reply.get_data(as_text=True)


def hits(html: str) -> list[str]:
    return re.findall(r'<a class="title" href="/resource/([^"]+)">', html)


def test_every_page_has_the_search_box(archive: Store) -> None:  # noqa: F811
    for path in ("/", "/report", "/search"):
        status, html = get(archive, path)
        assert status == 200
        assert '<form class="top-search" method="get" action="/search"' in html
    status, html = get(archive, "/?q=bakery")
    assert 'href="/search?q=bakery"' in html  # from the title filter to the text


def test_results_link_the_capture_and_its_replay_with_the_word_marked(
    archive: Store,  # noqa: F811
) -> None:
    status, html = get(archive, "/search?q=peppered")
    assert status == 200
    assert hits(html) == ["moths"]
    assert "1 match" in html
    assert "The <mark>peppered</mark> moth" in html
    (cid,) = re.findall(r'href="/capture/([^"]+)"', html)
    assert f'href="/replay/{cid}"' in html
    assert "Night flyers" in html and "https://science.example.org/moths" in html


def test_archived_text_is_escaped_around_the_marks(archive: Store) -> None:  # noqa: F811
    fetch(archive, "lamps", T0 + DAY, 'Beware <script>alert("lamps")</script> & <b>moths</b>')
    status, html = get(archive, "/search?q=alert")
    assert hits(html) == ["lamps"]
    assert "<script>" not in html.split("<main>", 1)[1]
    assert (
        "Beware &lt;script&gt;<mark>alert</mark>(&#34;lamps&#34;)&lt;/script&gt; &amp; "
        "&lt;b&gt;moths&lt;/b&gt;" in html
    )
    status, html = get(archive, "/search?q=%3Cscript%3E%20alert")
    assert "&lt;script&gt; alert" in html  # the query, given back in the box


def test_filters_every_capture_and_dates(archive: Store) -> None:  # noqa: F811
    fetch(archive, "bakery", T0 + 10 * DAY, "Scones only now.")
    assert hits(get(archive, "/search?q=croissants")[1]) == []
    assert hits(get(archive, "/search?q=croissants&all=1")[1]) == ["bakery"]
    assert hits(get(archive, "/search?q=night&type=paper")[1]) == ["moths"]
    assert hits(get(archive, "/search?q=night&tag=insects")[1]) == ["moths"]
    assert hits(get(archive, "/search?q=night&host=lamps.example.org")[1]) == ["lamps"]
    assert hits(get(archive, "/search?q=night&state=gone")[1]) == []
    assert hits(get(archive, "/search?q=scones&since=2026-03-05")[1]) == ["bakery"]
    assert get(archive, "/search?q=night&since=soon")[0] == 400
    assert get(archive, "/search?q=night&state=sleepy")[0] == 400


def test_results_paginate(archive: Store) -> None:  # noqa: F811
    for rid in ("moths", "bakery", "tokyo", "moscow", "lamps"):
        fetch(archive, rid, T0 + DAY, f"Every page now mentions the lighthouse. {rid}")
    status, html = get(archive, "/search?q=lighthouse", search_page_size=2)
    assert "5 matches · page 1 of 3" in html
    first = hits(html)
    assert len(first) == 2
    links = [unescape(h) for h in re.findall(r'class="page" href="([^"]+)"', html)]
    assert (
        links == ["/search?q=lighthouse&page=2", "/search?q=lighthouse&page=3"] * 2
    )  # above, below
    _, third = get(archive, "/search?q=lighthouse&page=3", search_page_size=2)
    assert len(hits(third)) == 1 and '<ol class="hits" start="5">' in third
    _, second = get(archive, "/search?q=lighthouse&page=2", search_page_size=2)
    assert len(set(first + hits(second) + hits(third))) == 5


@pytest.mark.parametrize(
    ("query", "message"),
    [("%3F%21%2C", "only punctuation"), ("x" * 10_000, "too long"), ("-moths", "leave out")],
)
def test_a_query_with_nothing_to_search_for_is_said_so(
    archive: Store,  # noqa: F811
    query: str,
    message: str,
) -> None:
    status, html = get(archive, f"/search?q={query}")
    assert status == 200
    assert re.search(rf'<p class="problem">[^<]*{message}', html)
    assert hits(html) == []


@pytest.mark.skipif(browser.missing() is not None, reason=str(browser.missing()))
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_searching_from_the_header_in_a_browser(archive: Store, tmp_path: Path) -> None:  # noqa: F811
    server = make_server("127.0.0.1", 0, Viewer(archive, replay_port=1))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with browser.Browser(tmp_path / "chromium") as b:
            b.get(f"http://127.0.0.1:{server.port}/")
            b.execute(
                "const box = document.querySelector('form.top-search input[name=q]');"
                "box.value = '東京'; box.form.submit()"
            )
            b.wait_for("return location.pathname === '/search'")
            seen = b.execute(
                "return {marks: [...document.querySelectorAll('.snippet mark')]"
                ".map(m => m.textContent), hits: document.querySelectorAll('li.hit').length,"
                " box: document.querySelector('.search-form input[name=q]').value}"
            )
            assert seen == {"marks": ["東京"], "hits": 1, "box": "東京"}
            assert b.screenshot(tmp_path / "search.png").stat().st_size > 5_000
    finally:
        server.shutdown()
        thread.join()
