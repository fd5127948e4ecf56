"""A crawled page looks the same replayed as it did live, and replay never leaves the archive.

End to end: a local site (and a second host, 127.0.0.2) serves a page with a stylesheet
that ``@import``s another, a CSS ``url()`` background, a web font (``@font-face``, the
heading's face), an ``<img srcset>``, a ``<picture>``, a script that writes a line into
the page, an ``<iframe>`` whose page has its own stylesheet, and an image from the other
host. ``archive crawl`` archives it; headless Chromium screenshots it live; the live
servers are stopped and sentinels that log every request take their ports; ``archive
serve`` starts, and Chromium, with a fresh profile (so nothing comes from its cache),
screenshots the memento on the replay origin. The two screenshots are compared pixel by
pixel, and what each render shows (images, fonts, the script's line, the frame) is checked
in both.
"""

from __future__ import annotations

import io
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import browser
import pytest
from PIL import Image, ImageChops
from servers import Server, run
from sites import Fixed, LocalSite
from sqlalchemy import select

from archive.config import load_config
from archive.store.db import Store
from archive.store.models import Capture
from archive.web.replay import memento_path

pytestmark = pytest.mark.slow

#: The same window, scale and no scrollbars for both renders, so they compare pixel for pixel.
RENDER_ARGS = ("--window-size=1024,768", "--force-device-scale-factor=1", "--hide-scrollbars")
#: Nothing may move between the two screenshots.
STILL = """var s = document.createElement("style");
s.textContent = "*, *::before, *::after { animation: none !important;"
  + " transition: none !important; caret-color: transparent !important; }";
document.head.appendChild(s); return true;"""
#: Loaded, frames included (their load holds up the page's), and every font face settled.
READY = "return document.readyState == 'complete' && document.fonts.status == 'loaded';"
#: What the page shows: every image with its state and the candidate Chromium picked, the
#: web fonts with their state, the text the script wrote, and every URL it loaded.
STATE = """return {
  images: Array.from(document.images).map(function (i) {
    return [i.id, i.complete && i.naturalWidth > 0, i.currentSrc]; }),
  fonts: Array.from(document.fonts).map(function (f) { return [f.family, f.status]; }),
  fontReady: document.fonts.check('bold 64px "Harbour Serif"'),
  written: (document.getElementById('written') || {}).textContent || null,
  href: location.href,
  background: getComputedStyle(document.documentElement).backgroundColor,
  loaded: performance.getEntriesByType('resource').map(function (e) { return e.name; })
};"""
MAX_DIFFERENT = 0.01
#: A web font from Debian's fonts-dejavu-core: a bold serif, so the page's fallback
#: (monospace) or a synthesised bold would change every glyph of the heading.
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",)
WRITTEN = "Lamp lit at dusk: this line was written by a script."
#: The frame's own stylesheet paints it this colour (getComputedStyle's spelling).
FRAME_BACKGROUND = "rgb(46, 125, 91)"


def font_file() -> Path | None:
    return next((Path(p) for p in FONTS if Path(p).is_file()), None)


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> Fixed:
    """A solid PNG, with a white diagonal so a scaled or shifted copy does not compare equal."""
    picture = Image.new("RGB", size, colour)
    for i in range(min(size)):
        picture.putpixel((i, i), (255, 255, 255))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return Fixed(out.getvalue(), content_type="image/png")


def css(text: str) -> Fixed:
    return Fixed(text.encode(), content_type="text/css; charset=utf-8")


def build_site(site: LocalSite, other: LocalSite, font: Path) -> None:
    remote = other.url("/remote.png")
    body = (
        "<h1>Harbour lights</h1><p>The lighthouse keeper's log, as archived.</p>"
        '<div class="row">'
        # 200 CSS pixels wanted at scale 1: Chromium picks the 400w candidate, never src.
        '<img id="srcset" src="img/small.png" width="200" height="100"'
        ' srcset="img/small.png 100w, img/large.png 400w" sizes="200px">'
        f'<img id="remote" src="{remote}" width="120" height="80">'
        '<picture><source srcset="img/picture.png" type="image/png">'
        '<img id="picture" src="img/fallback.png" width="160" height="80"></picture>'
        "</div>"
        '<div class="row"><div class="tiles"></div>'
        '<iframe id="frame" src="/frame" width="300" height="160"></iframe></div>'
        '<script src="js/log.js"></script>'
    )
    html = (
        '<!DOCTYPE html>\n<html><head><title>Harbour lights</title><base href="/assets/">'
        '<link rel="stylesheet" href="css/main.css"></head>'
        f"<body>{body}</body></html>\n"
    )
    site.set("/page", Fixed(html.encode()))
    site.set(
        "/assets/css/main.css",
        css(
            '@import url("base.css");'
            ' @font-face { font-family: "Harbour Serif"; font-weight: bold;'
            ' src: url(../fonts/harbour.ttf) format("truetype") }'
            " body { margin: 16px; background: #f4f1e8; font: 16px/1.4 sans-serif }"
            ' h1 { font: bold 64px/1.2 "Harbour Serif", monospace }'
            " .row { display: flex; gap: 16px; align-items: flex-start; margin: 12px 0 }"
            " .tiles { width: 480px; height: 160px; background: url(../img/tile.png) repeat }"
            " img { display: block } iframe { border: 0 }"
            " .written { color: #fff; background: #8a1c1c; padding: 8px; font-size: 20px }"
        ),
    )
    site.set(
        "/assets/css/base.css",
        # A band across the page: an @import lost in replay changes far more than 1 %.
        css("h1 { color: #f4f1e8; background: #123c69; padding: 12px; margin: 0 }"),
    )
    site.set("/assets/fonts/harbour.ttf", Fixed(font.read_bytes(), content_type="font/ttf"))
    site.set(
        "/assets/js/log.js",
        Fixed(
            (
                'var line = document.createElement("p");'
                ' line.id = "written"; line.className = "written";'
                f" line.textContent = {json.dumps(WRITTEN)}; document.body.appendChild(line);\n"
            ).encode(),
            content_type="text/javascript; charset=utf-8",
        ),
    )
    frame = (
        "<!DOCTYPE html>\n<html><head><title>Tide table</title>"
        '<link rel="stylesheet" href="/assets/css/frame.css"></head>'
        "<body><p>High water 06:12, low water 12:30.</p></body></html>\n"
    )
    site.set("/frame", Fixed(frame.encode()))
    site.set(
        "/assets/css/frame.css",
        css(
            "html { background: #2e7d5b; color: #fff; font: 18px/1.3 serif } body { margin: 12px }"
        ),
    )
    site.set("/assets/img/small.png", png((100, 50), (200, 30, 30)))
    site.set("/assets/img/large.png", png((400, 200), (30, 140, 60)))
    site.set("/assets/img/picture.png", png((160, 80), (120, 40, 160)))
    site.set("/assets/img/fallback.png", png((160, 80), (90, 90, 90)))
    site.set("/assets/img/tile.png", png((40, 40), (40, 90, 200)))
    other.set("/remote.png", png((120, 80), (230, 160, 20)))


class _Sentinel(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        self.server.seen.append(f"{self.headers.get('Host')}{self.path}")  # type: ignore[attr-defined]
        self.send_error(503, "this is a stopped live server")

    do_POST = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def sentinels(addresses: list[tuple[str, int]]) -> Iterator[list[str]]:
    """Servers on the live sites' old addresses, collecting every request they get."""
    seen: list[str] = []
    servers = []
    for address in addresses:
        server = ThreadingHTTPServer(address, _Sentinel)
        server.daemon_threads = True
        server.seen = seen  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
        servers.append(server)
    try:
        yield seen
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def render(workdir: Path, url: str) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """A screenshot of ``url`` in a fresh browser, with what the page and its frame show."""
    with browser.Browser(workdir, args=RENDER_ARGS) as b:
        b.get(url)
        b.execute(STILL)
        assert b.wait_for(READY), b.execute(STATE)
        page = b.execute(STATE)
        b.enter_frame("#frame")
        assert b.wait_for(READY), b.execute(STATE)
        frame = b.execute(STATE)
        b.leave_frames()
        shot = b.screenshot(workdir / "page.png")
    return shot, page, frame


def different_pixels(first: Path, second: Path) -> float:
    """The share of pixels that differ at all between two screenshots of the same size."""
    a, b = Image.open(first).convert("RGB"), Image.open(second).convert("RGB")
    assert a.size == b.size, (a.size, b.size)
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v else 0)
    return diff.histogram()[255] / (a.size[0] * a.size[1])


def memento(home: Path, url: str) -> str:
    store = Store(load_config(home=home, database_url=""))
    try:
        with store.session() as s:
            capture = s.scalars(select(Capture).where(Capture.requested_url == url)).one()
            assert capture.warc_date, url
            return memento_path(url, capture.warc_date)
    finally:
        store.close()


@pytest.fixture
def other() -> Iterator[LocalSite]:
    with LocalSite(host="127.0.0.2") as local:
        yield local


def check_render(page: dict[str, Any], frame: dict[str, Any], urls: dict[str, str]) -> None:
    """What both renders must show, live or replayed. ``urls`` holds live addresses (a
    replay URL ends with its live one), among them those of the images Chromium must pick."""
    images = {name: (ok, src) for name, ok, src in page["images"]}
    assert set(images) == {"srcset", "remote", "picture"}, page["images"]
    assert all(ok for ok, _ in images.values()), page["images"]
    assert images["srcset"][1].endswith(urls["large"]), images  # the 400w candidate
    assert images["picture"][1].endswith(urls["picture"]), images  # the <source>, not <img>
    assert page["fonts"] == [["Harbour Serif", "loaded"]], page["fonts"]
    assert page["fontReady"], page["fonts"]
    assert page["written"] == WRITTEN, page
    assert frame["background"] == FRAME_BACKGROUND, frame  # the frame's own stylesheet


def test_replayed_page_looks_like_the_live_one(
    site: LocalSite, other: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    if reason := browser.missing():
        pytest.skip(reason)
    if (font := font_file()) is None:
        pytest.skip(f"no web font to serve: none of {FONTS} (apt-get install fonts-dejavu-core)")
    build_site(site, other, font)
    page_url = site.url("/page")
    # The live addresses of what Chromium must pick (a replay URL ends with them); asked of
    # the site now, while it runs.
    urls = {
        name: site.url(path)
        for name, path in [
            ("large", "/assets/img/large.png"),
            ("picture", "/assets/img/picture.png"),
            ("frame", "/frame"),
            ("frame.css", "/assets/css/frame.css"),
        ]
    }
    listing = tmp_path / "list.txt"
    listing.write_text(page_url + "\n")
    run("crawl", "--source", str(listing))

    live_shot, live_page, live_frame = render(tmp_path / "live", page_url)
    check_render(live_page, live_frame, urls)
    assert live_frame["href"] == urls["frame"], live_frame

    addresses = [(site.host, site.port), (other.host, other.port)]
    site.stop()
    other.stop()
    with sentinels(addresses) as seen:
        with pytest.raises(urllib.error.HTTPError):  # the sentinel is listening, and logs
            urllib.request.urlopen(page_url, timeout=10)
        assert len(seen) == 1
        seen.clear()
        server = Server(archive_home, tmp_path / "serve.log", dict(os.environ))
        try:
            origin = f"http://127.0.0.1:{server.replay}"
            shot, page, frame = render(
                tmp_path / "replay", origin + memento(archive_home, page_url)
            )
        finally:
            server.stop()
    assert seen == []  # nothing was fetched from the live web
    loaded = page["loaded"] + frame["loaded"]
    assert [u for u in loaded if not u.startswith(origin + "/")] == [], loaded
    check_render(page, frame, urls)
    # The frame's document came from the archive, as did its stylesheet.
    assert frame["href"].startswith(f"{origin}/archive/"), frame
    assert frame["href"].endswith("/" + urls["frame"]), frame
    assert any(u.endswith("/" + urls["frame.css"]) for u in frame["loaded"]), frame
    share = different_pixels(live_shot, shot)
    assert share <= MAX_DIFFERENT, f"{share:.2%} of pixels differ: {live_shot} vs {shot}"
