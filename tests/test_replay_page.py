"""A crawled page looks the same replayed as it did live, and replay never leaves the archive.

End to end: a local site (and a second host, 127.0.0.2) serves a page with a stylesheet
that ``@import``s another, a CSS ``url()`` background, an ``<img srcset>`` and an image
from the other host. ``archive crawl`` archives it; headless Chromium screenshots it live;
the live servers are stopped and sentinels that log every request take their ports;
``archive serve`` starts, and Chromium, with a fresh profile (so nothing comes from its
cache), screenshots the memento on the replay origin. The two screenshots are compared
pixel by pixel.
"""

from __future__ import annotations

import io
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
#: Every image has loaded, with what it shows: the srcset candidate Chromium picked.
IMAGES = """return Array.from(document.images).map(function (i) {
  return [i.id, i.complete && i.naturalWidth > 0, i.currentSrc]; });"""
RESOURCES = "return performance.getEntriesByType('resource').map(function (e) { return e.name; });"
MAX_DIFFERENT = 0.01


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


def build_site(site: LocalSite, other: LocalSite) -> None:
    remote = other.url("/remote.png")
    body = (
        "<h1>Harbour lights</h1><p>The lighthouse keeper's log, as archived.</p>"
        # 200 CSS pixels wanted at scale 1: Chromium picks the 400w candidate, never src.
        '<img id="srcset" src="img/small.png" width="200" height="100"'
        ' srcset="img/small.png 100w, img/large.png 400w" sizes="200px">'
        f'<img id="remote" src="{remote}" width="120" height="80">'
        '<div class="tiles"></div>'
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
            " body { margin: 16px; background: #f4f1e8; font: 16px/1.4 sans-serif }"
            " .tiles { width: 480px; height: 160px; background: url(../img/tile.png) repeat }"
            " img { display: block; margin: 8px 0 }"
        ),
    )
    site.set(
        "/assets/css/base.css",
        css(
            # A band across the page: an @import lost in replay changes far more than 1 %.
            "h1 { color: #f4f1e8; background: #123c69; font-size: 32px; padding: 12px }"
        ),
    )
    site.set("/assets/img/small.png", png((100, 50), (200, 30, 30)))
    site.set("/assets/img/large.png", png((400, 200), (30, 140, 60)))
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


def render(workdir: Path, url: str) -> tuple[Path, list[list[Any]], list[str]]:
    """A screenshot of ``url``, its images' state and the URLs it loaded, in a fresh browser."""
    with browser.Browser(workdir, args=RENDER_ARGS) as b:
        b.get(url)
        b.execute(STILL)
        b.wait_for("return document.fonts.status == 'loaded' && document.readyState == 'complete'")
        images = b.execute(IMAGES)
        loaded = b.execute(RESOURCES)
        shot = b.screenshot(workdir / "page.png")
    return shot, images, loaded


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


def test_replayed_page_looks_like_the_live_one(
    site: LocalSite, other: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    if reason := browser.missing():
        pytest.skip(reason)
    build_site(site, other)
    page_url, large = site.url("/page"), site.url("/assets/img/large.png")
    listing = tmp_path / "list.txt"
    listing.write_text(page_url + "\n")
    run("crawl", "--source", str(listing))

    live_shot, live_images, _ = render(tmp_path / "live", page_url)
    assert [ok for _, ok, _ in live_images] == [True, True], live_images
    assert live_images[0][2] == large  # the srcset candidate

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
            shot, images, loaded = render(
                tmp_path / "replay", origin + memento(archive_home, page_url)
            )
        finally:
            server.stop()
    assert seen == []  # nothing was fetched from the live web
    assert [u for u in loaded if not u.startswith(origin + "/")] == [], loaded
    assert [ok for _, ok, _ in images] == [True, True], (images, server.output()[-3000:])
    assert images[0][2].endswith("/" + large), images
    share = different_pixels(live_shot, shot)
    assert share <= MAX_DIFFERENT, f"{share:.2%} of pixels differ: {live_shot} vs {shot}"
