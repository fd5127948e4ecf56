"""Page requisites: what an archived page loads is archived with it, once per crawl.

End to end through ``archive crawl`` against two local hosts (127.0.0.2 routes to
loopback on Linux), checked with cdxj-indexer, the sites' request logs and the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from sites import Fixed, LocalSite, html_page
from warctools import cdxj_index

from archive.capture.schema import CaptureRecord, Hop, Requisite
from archive.extract.requisites import css_requisites, html_requisites, srcset_urls
from crawler.items import FetchItem
from crawler.middlewares import HOPS
from crawler.requisites import WINDOW, Requisites

ARCHIVE = str(Path(sys.executable).parent / "archive")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def archive(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCHIVE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def page(title: str, head: str = "", body: str = "") -> bytes:
    """An article page with ``head`` markup in its <head> and ``body`` after its text."""
    html = html_page(title, f"{title}: a page that loads things.")
    return html.replace("</head>", head + "</head>").replace("</body>", body + "</body>").encode()


def image(data: bytes = PNG) -> Fixed:
    return Fixed(data, content_type="image/png")


def css(text: str) -> Fixed:
    return Fixed(text.encode(), content_type="text/css; charset=utf-8")


@pytest.fixture
def other() -> Iterator[LocalSite]:
    with LocalSite({"/remote.png": image(PNG + b"remote")}, host="127.0.0.2") as local:
        yield local


#: Every requisite path of the first page on the main site, and who loads it.
REQUISITES = {
    "/assets/css/main.css": "page (through <base href>)",
    "/assets/css/base.css": "@import of main.css",
    "/assets/img/bg.png": "url() in main.css",
    "/assets/fonts/serif.woff2": "@font-face in main.css",
    "/assets/img/a.png": "<img src>",
    "/assets/img/a-2x.png": "<img srcset>",
    "/assets/img/p.webp": "<picture><source srcset>",
    "/assets/img/p.jpg": "<picture><img>",
    "/assets/js/app.js": "<script src>",
    "/frame.html": "<iframe src>",
    "/css/frame.css": "the frame's stylesheet",
    "/assets/img/inline.png": "style=",
}


def requisite_site(site: LocalSite, other: LocalSite) -> None:
    head = '<base href="/assets/"><link rel="stylesheet" href="css/main.css">'
    body = (
        '<img src="img/a.png" srcset="img/a-2x.png 2x">'
        '<picture><source srcset="img/p.webp" type="image/webp"><img src="img/p.jpg"></picture>'
        '<script src="js/app.js"></script><iframe src="/frame.html"></iframe>'
        f'<img src="{other.url("/remote.png")}"><div style="background: url(img/inline.png)">'
        '</div><a href="/elsewhere">a link is not a requisite</a>'
    )
    site.set("/one", Fixed(page("Page one", head, body)))
    site.set("/two", Fixed(page("Page two", '<link rel="stylesheet" href="/assets/css/main.css">')))
    site.set(
        "/assets/css/main.css",
        css(
            '@import url("base.css"); body { background: url(../img/bg.png) }'
            '@font-face { font-family: Serif; src: url(/assets/fonts/serif.woff2) format("woff2") }'
        ),
    )
    site.set("/assets/css/base.css", css("h1 { color: navy }"))
    site.set("/frame.html", Fixed(page("Frame", '<link rel="stylesheet" href="css/frame.css">')))
    site.set("/css/frame.css", css("p { margin: 0 }"))
    site.set("/assets/fonts/serif.woff2", Fixed(b"wOF2" + b"\x00" * 32, content_type="font/woff2"))
    site.set("/assets/js/app.js", Fixed(b"console.log(1)", content_type="text/javascript"))
    for path in REQUISITES:
        if path.endswith((".png", ".webp", ".jpg")):
            site.set(path, image(PNG + path.encode()))


def crawl_list(tmp_path: Path, site: LocalSite, *paths: str, flags: tuple[str, ...] = ()) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("".join(site.url(p) + "\n" for p in paths))
    result = archive("crawl", "--source", str(listing), *flags)
    assert result.returncode == 0, result.stderr[-3000:]


def show(site: LocalSite, path: str) -> dict:
    result = archive("show", site.url(path), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def responses(home: Path) -> dict[str, list[str]]:
    """URL -> the statuses (or ``revisit``) of its response and revisit records."""
    out: dict[str, list[str]] = {}
    for line in cdxj_index(sorted((home / "warcs").glob("*.warc.gz"))):
        kind = "revisit" if line.fields.get("mime") == "warc/revisit" else line.fields.get("status")
        if kind is None:  # a metadata record
            continue
        out.setdefault(line.fields["url"], []).append(kind)
    return out


@pytest.mark.slow
def test_a_page_is_archived_with_everything_it_loads(
    site: LocalSite, other: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    requisite_site(site, other)
    crawl_list(tmp_path, site, "/one", "/two")

    found = responses(archive_home)
    for path, why in REQUISITES.items():
        assert found.get(site.url(path)) == ["200"], (path, why)
    assert found.get(other.url("/remote.png")) == ["200"]  # another host
    assert site.hits("/elsewhere") == 0
    # The stylesheet both pages use was fetched once for the whole crawl.
    assert site.hits("/assets/css/main.css") == 1 and site.hits("/assets/css/base.css") == 1

    card = show(site, "/one")["requisites"]
    assert card["archived"] == len(REQUISITES) + 1 and card["failed"] == 0
    assert {i["url"] for i in card["items"]} == {
        *(site.url(p) for p in REQUISITES),
        other.url("/remote.png"),
    }
    by_url = {i["url"]: i for i in card["items"]}
    assert by_url[site.url("/assets/css/base.css")]["found_in"] == site.url("/assets/css/main.css")
    assert by_url[site.url("/assets/fonts/serif.woff2")]["kind"] == "font"
    two = show(site, "/two")["requisites"]  # the shared stylesheet, and what it loads
    assert {i["url"] for i in two["items"]} == {
        site.url(p) for p in ("/assets/css/main.css", "/assets/css/base.css")
    } | {site.url("/assets/img/bg.png"), site.url("/assets/fonts/serif.woff2")}
    text = archive("show", site.url("/one")).stdout
    assert f"Requisites: {len(REQUISITES) + 1} archived, 0 failed" in text

    # Requisites are not resources: never listed, never reported.
    listed = json.loads(archive("list", "--json").stdout)
    assert sorted(r["url"] for r in listed) == [site.url("/one"), site.url("/two")]
    assert "css" not in archive("report").stdout
    verified = json.loads(archive("verify", "--json").stdout)
    assert verified["ok"] and not verified["notes"], verified  # no orphan exchanges

    # A second crawl: unchanged requisites cost a revisit record each.
    site.clear_log()
    assert archive("crawl", "--all").returncode == 0
    found = responses(archive_home)
    assert found[site.url("/assets/css/main.css")] == ["200", "revisit"]
    again = show(site, "/one")["requisites"]
    assert again["archived"] == len(REQUISITES) + 1
    assert all(i["is_revisit"] for i in again["items"])


@pytest.mark.slow
def test_reindex_rebuilds_the_requisites_lists(
    site: LocalSite, other: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    requisite_site(site, other)
    crawl_list(tmp_path, site, "/one")
    before = show(site, "/one")["requisites"]
    (archive_home / "archive.sqlite3").unlink()
    for leftover in archive_home.glob("archive.sqlite3-*"):
        leftover.unlink()
    assert archive("reindex").returncode == 0
    assert show(site, "/one")["requisites"] == before


@pytest.mark.slow
def test_a_runaway_page_is_cut_at_its_cap(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    body = "".join(f'<img src="/i/{n}.png">' for n in range(5000))
    site.set("/gallery", Fixed(page("Gallery", body=body)))
    for n in range(5000):
        site.set(f"/i/{n}.png", image())
    crawl_list(tmp_path, site, "/gallery")

    fetched = [r for r in site.requests if r.path.startswith("/i/")]
    assert len(fetched) == 200
    card = show(site, "/gallery")
    assert card["requisites"]["archived"] == 200
    assert card["requisites"]["cut"] == "count" and card["requisites"]["left_out"] == 4800
    assert (
        "(4,800 more left out by the per-page count cap)"
        in archive("show", site.url("/gallery")).stdout
    )


@pytest.mark.slow
def test_no_requisites_fetches_only_the_pages(
    site: LocalSite, other: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    requisite_site(site, other)
    crawl_list(tmp_path, site, "/one", flags=("--no-requisites",))
    assert {r.path for r in site.requests} <= {"/one", "/robots.txt"}
    assert not other.requests
    assert show(site, "/one")["requisites"] is None


def test_what_an_html_page_loads() -> None:
    html = (
        b'<html><head><base href="http://a.example/b/"><link rel="icon" href="/f.ico">'
        b'<link rel="preload" as="font" href="f.woff2"><link rel="manifest" href="m.json">'
        b"<style>@media screen { p { background: url('m.png') } }</style></head><body>"
        b'<video src="v.mp4" poster="p.jpg"><track src="t.vtt"></video><object data="o.svg">'
        b'</object><embed src="e.swf"><img src="data:image/png;base64,AA=="><img src="#x">'
        b'<img src="javascript:void(0)"><iframe src="f.html"></iframe></body></html>'
    )
    found = {
        f.url.removeprefix("http://a.example"): f.kind
        for f in html_requisites(html, "http://a.example/")
    }
    assert found == {
        "/f.ico": "icon",
        "/b/f.woff2": "font",
        "/b/m.json": "manifest",
        "/b/m.png": "image",
        "/b/v.mp4": "media",
        "/b/p.jpg": "image",
        "/b/t.vtt": "track",
        "/b/o.svg": "object",
        "/b/e.swf": "embed",
        "/b/f.html": "frame",
    }
    assert "/b/f.html" not in {
        f.url.removeprefix("http://a.example")
        for f in html_requisites(html, "http://a.example/", frames=False)
    }


def test_what_a_stylesheet_loads() -> None:
    sheet = (
        b'@charset "utf-8"; @import "a.css"; @import url(b.css) screen;'
        b'p { background: image-set("x.png" 1x, url(y.png) 2x) } /* url(no.png) */'
        b"@supports (display: grid) { div { cursor: url(c.cur), auto } }"
    )
    found = [(f.url, f.kind) for f in css_requisites(sheet, "http://a.example/s/m.css")]
    assert found == [
        ("http://a.example/s/a.css", "stylesheet"),
        ("http://a.example/s/b.css", "stylesheet"),
        ("http://a.example/s/x.png", "image"),
        ("http://a.example/s/y.png", "image"),
        ("http://a.example/s/c.cur", "image"),
    ]


def test_srcset_is_split_by_the_standard() -> None:
    assert srcset_urls(" a.png 1x,b.png 2x , c,d.png 3x, e.png (w) ,f.png") == [
        "a.png",
        "b.png",
        "c,d.png",
        "e.png",
        "f.png",
    ]


# -- the crawl's account of requisites, without a crawl ------------------------------------


def tracker(max_count: int = 200, max_bytes: int = 10**9) -> Requisites:
    return Requisites(True, max_count, max_bytes, callback=print, errback=print)


def fetched_page(url: str, html: str) -> tuple[FetchItem, HtmlResponse]:
    item = FetchItem(url, url, datetime.now(UTC), 1, final_url=url, status=200)
    headers = {"Content-Type": "text/html; charset=utf-8"}
    return item, HtmlResponse(url, body=html.encode(), headers=headers, request=Request(url))


def answer(tracker: Requisites, request: Request, body: bytes, content_type: str) -> list:
    """The tracker's output once ``request`` is answered with ``body``."""
    hop = Hop(request.url, status=200, record_id=f"<urn:{request.url}>", payload_length=len(body))
    request.meta[HOPS].append(hop)
    response = Response(
        request.url, body=body, headers={"Content-Type": content_type}, request=request
    )
    return list(tracker.done(request, response=response))


def test_a_page_past_its_byte_cap_starts_nothing_more() -> None:
    requisites = tracker(max_bytes=100)
    images = "".join(f'<img src="/i/{n}.png">' for n in range(20))
    item, response = fetched_page("http://a.example/", images)
    started = list(requisites.page(item, response))
    assert len(started) == WINDOW and all(isinstance(r, Request) for r in started)
    (started_next,) = answer(requisites, started[0], b"x" * 80, "image/png")
    assert isinstance(started_next, Request)  # under the cap: the next one starts
    # past it: nothing more starts, what is in flight finishes
    assert answer(requisites, started[1], b"x" * 80, "image/png") == []
    for request in started[2:]:
        assert answer(requisites, request, b"x", "image/png") == []
    out = answer(requisites, started_next, b"x", "image/png")
    (done,) = out
    assert isinstance(done, FetchItem) and len(done.requisites) == WINDOW + 1
    assert done.requisites_cut == "bytes" and done.requisites_left_out == 20 - WINDOW - 1
    assert not requisites.pages


def test_a_stylesheet_fetched_for_one_page_serves_the_next() -> None:
    requisites = tracker()
    sheet = '<link rel="stylesheet" href="/s.css">'
    first, response = fetched_page("http://a.example/1", sheet)
    (request,) = requisites.page(first, response)
    (imported,) = answer(requisites, request, b"@import 'b.css';", "text/css")
    (done,) = answer(requisites, imported, b"p {}", "text/css")
    assert [r.url for r in done.requisites] == ["http://a.example/s.css", "http://a.example/b.css"]
    second, response = fetched_page("http://a.example/2", sheet)
    (again,) = requisites.page(second, response)  # nothing to fetch: done at once
    assert isinstance(again, FetchItem)
    assert [(r.url, r.found_in) for r in again.requisites] == [
        ("http://a.example/s.css", None),
        ("http://a.example/b.css", "http://a.example/s.css"),
    ]
    assert all(r.archived for r in again.requisites)


def test_the_metadata_record_carries_the_requisites() -> None:
    hop = Hop("http://a.example/s.css", status=200, record_id="<urn:uuid:1>", payload_length=4)
    record = CaptureRecord(
        "cap_x",
        "0123456789abcdef",
        "http://a.example/",
        datetime(2026, 4, 9, tzinfo=UTC),
        requisites=[
            Requisite("http://a.example/s.css", "stylesheet", status=200, hops=(hop,)),
            Requisite("http://b.example/i.png", "image", error_class="dns", error_message="no"),
        ],
        requisites_cut="count",
        requisites_left_out=3,
    )
    assert CaptureRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
    plain = CaptureRecord("cap_y", "0123456789abcdef", "http://a.example/", record.fetched_at)
    assert not {k for k in plain.to_json() if k.startswith("requisites")}
