"""``archive serve`` end to end: crawl the local site, start the viewer and its replay
server, and read them as a person would, over HTTP and in a real headless Chromium.

The safety claims are tested where they matter: an archived page whose script reaches
for the viewer's document and cookies is replayed in the browser, and nothing of it may
land in the viewer.
"""

from __future__ import annotations

import http.client
import json
import os
import pty
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from pathlib import Path
from urllib.parse import quote

import browser
import pytest
from servers import ARCHIVE, Reply, Server, get, run
from sites import ARTICLES, Fixed, LocalSite, Sequence, html_page, standard_site
from sqlalchemy import select

from archive.config import load_config
from archive.inspect.card import fetched_on
from archive.store.db import Store
from archive.store.models import Capture, Resource

pytestmark = pytest.mark.slow

MARKER = "PARENT-DOM-TOUCHED"
#: An archived page that tries everything a hostile page would against a viewer that
#: framed it: the parent's and top's DOM (also around pywb's wombat, via globalThis),
#: the frame element, and cookies. What it manages is written into its own page.
HOSTILE = f"""<!DOCTYPE html>
<html><head><title>Hostile <b>page</b></title></head>
<body><h1>Hostile page</h1><p id="probe">script did not run</p>
<script>
var out = [];
function attempt(name, fn) {{ try {{ fn(); out.push("{MARKER}:" + name); }}
  catch (e) {{ out.push(name + "-blocked"); }} }}
function touch(doc) {{ doc.body.insertAdjacentHTML("beforeend", "<p>{MARKER}</p>"); }}
attempt("parent", function () {{ touch(window.parent.document); }});
attempt("top", function () {{ touch(globalThis.top.document); }});
attempt("frame", function () {{ touch(window.frameElement.ownerDocument); }});
try {{ var c = document.cookie; out.push(c ? "COOKIE-READ:" + c : "no-cookie"); }}
catch (e) {{ out.push("cookie-blocked"); }}
document.getElementById("probe").textContent = out.join(" ");
</script></body></html>
""".encode()
NEWS = "Dredgers arrive on {day}.</p>\n<p>Work lasts a week."
NEWS_V1 = html_page("Harbour dredging starts", NEWS.format(day="Monday"))
NEWS_V2 = html_page("Harbour dredging starts", NEWS.format(day="Friday"))
LONG_TEXT = " ".join(
    f"Paragraph {i} of the council minutes records the vote on the sea wall budget."
    for i in range(120)
)
#: Titles and citing pages come from the registry, i.e. from people: escape them.
EVIL_TITLE = "<script>document.title='owned'</script>Minutes"
EVIL_CITER = '"><img src=x onerror=alert(1)>'


def registry(site: LocalSite) -> str:
    entries = [
        ("/", "Harbour Lights Gazette", "web", ["harbour"]),
        ("/plain", "Council approves new sea wall", "web", ["coastal-defence", "council"]),
        ("/gzip", "Fishing quotas cut", "web", []),
        ("/r1", "Ferry timetable", "web", []),
        ("/missing", "A page that never was", "web", []),
        ("/paper.pdf", "Hello PDF", "paper", ["papers"]),
        ("/private/secret", "Staff rota", "web", []),
        ("/hostile", "Hostile page", "web", []),
        ("/news", "Dredging news", "web", []),
        ("/long", EVIL_TITLE, "report", [EVIL_CITER]),
    ]
    out = []
    for path, title, type_, cited in entries:
        out.append(
            f"- url: {site.url(path)}\n  title: {json.dumps(title)}\n  type: {type_}\n"
            f"  cited_by: {json.dumps(cited)}\n"
        )
    return "".join(out)


@dataclass
class Served:
    site: LocalSite
    home: Path
    server: Server
    store: Store
    #: path → that URL's captures, oldest first
    captures: dict[str, list[Capture]]
    resources: dict[str, Resource]

    def view(self, path: str) -> Reply:
        return get(self.server.viewer, path)

    def replay(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return get(self.server.replay, path, headers)


def _load(store: Store, site: LocalSite) -> tuple[dict[str, list[Capture]], dict[str, Resource]]:
    base = site.url("/")[:-1]
    caps: dict[str, list[Capture]] = {}
    with store.session() as s:
        for c in s.scalars(select(Capture).order_by(Capture.fetched_at)):
            caps.setdefault(c.requested_url.removeprefix(base), []).append(c)
        res = {r.url.removeprefix(base): r for r in s.scalars(select(Resource))}
    return caps, res


def _site_routes() -> dict:
    routes = standard_site()
    for path in ("/error", "/big", "/cp1252", "/chunked"):  # not needed here; /error is slow
        routes.pop(path)
    routes["/hostile"] = Fixed(HOSTILE)
    routes["/news"] = Sequence([Fixed(NEWS_V1.encode()), Fixed(NEWS_V2.encode())])
    routes["/long"] = Fixed(html_page("Council minutes", LONG_TEXT).encode())
    return routes


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One crawl of the site, `archive serve` started, then a second crawl of three pages
    while it runs: /plain unchanged (a revisit), /news changed, /missing 404 again (gone)."""
    root = tmp_path_factory.mktemp("web")
    home = root / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp, LocalSite(_site_routes()) as site:
        for name in list(os.environ):
            if name.startswith("ARCHIVE_"):  # a developer's own settings must not leak in
                mp.delenv(name)
        mp.setenv("ARCHIVE_HOME", str(home))
        mp.setenv("ARCHIVE_ALLOW_PRIVATE", "1")
        mp.setenv("ARCHIVE_DOWNLOAD_DELAY", "0")
        source = root / "registry.yaml"
        source.write_text(registry(site), encoding="utf-8")
        run("crawl", "--source", str(source))
        server = Server(home, root / "serve.log", dict(os.environ))
        store = Store(load_config(home=home, database_url=""))
        try:
            run("crawl", "--ids", ",".join(site.url(p) for p in ("/plain", "/news", "/missing")))
            caps, res = _load(store, site)
            yield Served(site, home, server, store, caps, res)
        finally:
            server.stop()
            store.close()


def test_index_lists_resources_with_link_states_and_filters(served: Served) -> None:
    page = served.view("/")
    assert page.status == 200
    text = page.plain()
    for path, res in served.resources.items():
        assert f"/resource/{res.resource_id}" in page.text, path
    assert f"{len(served.resources)} resources" in text
    assert "Council approves new sea wall" in text and "redirected 1" in text

    redirected = served.view("/?state=redirected")
    assert served.resources["/r1"].resource_id in redirected.text
    assert served.resources["/plain"].resource_id not in redirected.text
    assert "1 matching" in redirected.plain()

    found = served.view("/?q=SEA+WALL").text  # case-insensitive, on titles
    assert served.resources["/plain"].resource_id in found
    assert served.resources["/gzip"].resource_id not in found
    by_url = served.view("/?q=paper.pdf&type=paper&host=127.0.0.1").text
    assert served.resources["/paper.pdf"].resource_id in by_url
    assert "1 matching" in served.view("/?q=paper.pdf&type=paper&host=127.0.0.1").plain()
    assert "0 matching" in served.view("/?q=100%25_").plain()  # LIKE wildcards are literal


def test_resource_card_the_wiki_way(served: Served) -> None:
    res = served.resources["/plain"]
    first, revisit = served.captures["/plain"]
    assert revisit.is_revisit and revisit.revisit_of == first.capture_id
    pages = [
        served.view(f"/resource/{ref}")
        for ref in (res.resource_id, res.stable_id, quote(served.site.url("/plain"), safe=":/"))
    ]
    assert {p.status for p in pages} == {200}
    assert pages[0].body == pages[1].body == pages[2].body  # id, sid_ or URL: one card
    text = pages[0].plain()
    assert "Council approves new sea wall" in text
    assert "coastal-defence" in text and "council" in text  # citing pages
    assert f"Link state alive since {res.state_since:%Y-%m-%d}" in text
    assert f"HTTP 200 · Fetched {fetched_on(revisit.fetched_at)} · 1 KB" in text
    assert ARTICLES["/plain"][1] in text
    assert text.endswith(f"Resource ID: {res.resource_id} | Stable ID: {res.stable_id}")
    # Each capture, newest first, links to its page; the revisit to a diff with the first.
    html = pages[0].text
    listed = html.split("<h2>Captures (2)</h2>", 1)[1]
    assert listed.index(f">{revisit.capture_id}</code>") < listed.index(
        f">{first.capture_id}</code>"
    )
    assert f'href="/capture/{first.capture_id}"' in html
    assert f'href="/diff/{first.capture_id}/{revisit.capture_id}"' in html
    assert "revisit" in text and f'href="/replay/{revisit.capture_id}"' in html

    long = served.captures["/long"][0]
    card = served.view(f"/resource/{served.resources['/long'].resource_id}").plain()
    total = len((long.full_text or "").encode())
    assert total > 6000
    status_line = f"HTTP 200 · Fetched {fetched_on(long.fetched_at)} · {round(total / 1024)} KB"
    assert status_line in card
    assert f"... (truncated, {round(total / 1024)} KB total)" in card
    # after the status line itself: a capture id on the card may hold "KB" too
    shown = card.split(status_line, 1)[1].split("... (truncated")[0]
    assert 2500 < len(shown.strip()) <= 3000  # the first 3,000 characters, cut at a word


def test_capture_page_shows_the_exchange_from_the_warc(served: Served) -> None:
    c = served.captures["/plain"][0]
    page = served.view(f"/capture/{c.capture_id}")
    assert page.status == 200
    text = page.plain()
    assert "GET /plain HTTP/1.1" in text and "User-Agent cited-archive/" in text
    assert "HTTP/1.1 200 OK" in text
    assert f"Content-Length {len(served.site.route('/plain').body)}" in text
    assert "Content-Type text/html; charset=utf-8" in text
    assert f"{c.warc_file} offset {c.warc_offset}, length {c.warc_length}" in text
    assert c.payload_digest in text and c.warc_record_id in text
    assert ARTICLES["/plain"][1] in text  # the full extracted text
    assert f'href="/replay/{c.capture_id}"' in page.text

    chain = served.captures["/r1"][0]
    hops = served.view(f"/capture/{chain.capture_id}").plain()
    assert "Exchanges (3)" in hops
    assert re.search(r"/r1 301 /r2 .*/r2 302 /final .*/final 200", hops), hops

    revisit = served.captures["/plain"][1]
    text = served.view(f"/capture/{revisit.capture_id}").plain()
    assert "WARC-Type revisit" in text and f"identical payload to {c.capture_id}" in text


def test_payload_downloads_are_inert(served: Served) -> None:
    plain, revisit = served.captures["/plain"]
    gz = served.captures["/gzip"][0]
    wire = served.site.route("/plain").body
    for capture in (plain, revisit):  # a revisit's payload is its original's
        download = served.view(f"/capture/{capture.capture_id}/payload")
        assert download.status == 200 and download.body == wire
        assert download.headers["Content-Type"] == "text/html; charset=utf-8"
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in download.headers["Content-Security-Policy"]
    gzip_route = served.site.route("/gzip")
    raw = served.view(f"/capture/{gz.capture_id}/payload")
    decoded = served.view(f"/capture/{gz.capture_id}/payload?decoded=1")
    assert raw.body == gzip_route.body and decoded.body == gzip_route.content


def test_downloads_carry_the_archived_type_and_a_file_name(served: Served) -> None:
    """Named from the URL's last segment, else the title, with the type's extension; bytes
    still gzip-coded are a .gz; never anything a browser would render here."""
    expected = {
        ("/paper.pdf", ""): ("application/pdf", "paper.pdf"),
        ("/plain", ""): ("text/html; charset=utf-8", "plain.html"),
        ("/", ""): ("text/html; charset=utf-8", "Harbour_Lights_Gazette.html"),
        ("/gzip", ""): ("application/gzip", "gzip.html.gz"),
        ("/gzip", "?decoded=1"): ("text/html; charset=utf-8", "gzip.html"),
    }
    for (path, query), (content_type, name) in expected.items():
        capture = served.captures[path][0]
        download = served.view(f"/capture/{capture.capture_id}/payload{query}")
        assert download.status == 200, path
        assert download.headers["Content-Type"] == content_type, path
        disposition = download.headers["Content-Disposition"]
        assert disposition.startswith(f'attachment; filename="{name}"'), disposition
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in download.headers["Content-Security-Policy"]
    pdf = served.captures["/paper.pdf"][0]
    body = served.view(f"/capture/{pdf.capture_id}/payload").body
    assert body == served.site.route("/paper.pdf").body


def test_diff_pages(served: Served) -> None:
    old, new = served.captures["/news"]
    assert new.text_changed
    page = served.view(f"/diff/{old.capture_id}/{new.capture_id}")
    assert page.status == 200
    assert "<del>-Dredgers arrive on Monday.</del>" in page.text
    assert "<ins>+Dredgers arrive on Friday.</ins>" in page.text
    card = served.view(f"/resource/{served.resources['/news'].resource_id}").text
    assert f"/diff/{old.capture_id}/{new.capture_id}" in card and "changed" in card

    plain, revisit = served.captures["/plain"]
    assert (
        "No change in text." in served.view(f"/diff/{plain.capture_id}/{revisit.capture_id}").text
    )
    blocked = served.captures["/private/secret"][0]  # never fetched: no text
    no_text = served.view(f"/diff/{blocked.capture_id}/{plain.capture_id}")
    assert f"No extracted text to compare in {blocked.capture_id}" in no_text.plain()


def test_report_lists_rot_with_links(served: Served) -> None:
    report = served.view("/report")
    assert report.status == 200
    text = report.plain()
    assert "gone (1)" in text and "redirected (1)" in text
    assert f"/resource/{served.resources['/missing'].resource_id}" in report.text
    assert f"now goes to {served.site.url('/final')}" in text
    alive = served.view("/report?state=alive")
    good = served.captures["/plain"][-1]
    assert f'href="/replay/{good.capture_id}"' in alive.text
    assert "gone" not in alive.plain().split("Show", 1)[1]
    assert served.view("/report?state=sideways").status == 400


def test_replay_page_frames_the_replay_origin(served: Served) -> None:
    c = served.captures["/plain"][0]
    page = served.view(f"/replay/{c.capture_id}")
    assert page.status == 200
    frame = re.search(r'<iframe[^>]*\bsrc="([^"]+)"[^>]*>', page.text)
    assert frame, page.text
    tag = frame.group(0)
    assert 'sandbox="allow-scripts"' in tag  # scripts, but never the same origin
    replay_origin = f"http://127.0.0.1:{served.server.replay}"
    src = unescape(frame.group(1))
    assert src.startswith(f"{replay_origin}/archive/") and src.endswith(served.site.url("/plain"))
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and f"frame-src {replay_origin}" in csp
    assert "script-src" not in csp and "frame-ancestors 'none'" in csp

    replayed = served.replay(src.removeprefix(replay_origin))
    assert replayed.status == 200 and ARTICLES["/plain"][1] in replayed.text
    assert replayed.headers["Content-Security-Policy"] is not None
    assert "sandbox allow-scripts" in replayed.headers.get_all("Content-Security-Policy")
    assert replayed.headers["Set-Cookie"] is None


def test_replay_serves_wire_bytes_and_revisits(served: Served) -> None:
    def raw_src(capture: Capture) -> str:
        page = served.view(f"/replay/{capture.capture_id}").text
        found = re.search(r'href="(http://127\.0\.0\.1:\d+/archive/\d{14}id_/[^"]+)"', page)
        assert found, page
        return unescape(found.group(1)).split(str(served.server.replay), 1)[1]

    plain, revisit = served.captures["/plain"]
    wire = served.site.route("/plain").body
    assert served.replay(raw_src(plain)).body == wire  # id_: the archived bytes, unrewritten
    # The revisit was written after the server started (the index follows new WARC files)
    # and replays its original's payload.
    assert revisit.warc_file != plain.warc_file
    assert served.replay(raw_src(revisit)).body == wire
    gz = served.captures["/gzip"][0]
    body = served.replay(raw_src(gz), {"Accept-Encoding": "gzip"}).body
    assert body == served.site.route("/gzip").body

    # Rewritten replay: the home page's links point back into the archive, not the web.
    home = served.captures["/"][0]
    page = served.view(f"/replay/{home.capture_id}").text
    src = unescape(re.search(r'<iframe[^>]*\bsrc="([^"]+)"', page).group(1))
    replayed = served.replay(src.split(str(served.server.replay), 1)[1]).text
    assert re.search(
        r'href="[^"]*/archive/\d{14}/' + re.escape(served.site.url("/plain")), replayed
    )


def test_replay_speaks_memento(served: Served) -> None:
    plain = served.captures["/plain"]
    url = served.site.url("/plain")
    timemap = served.replay(f"/archive/timemap/link/{url}")
    assert timemap.status == 200 and "link-format" in timemap.headers["Content-Type"]
    mementos = re.findall(r'<([^>]+)>; rel="(?:first |last |first last )?memento"', timemap.text)
    assert len(mementos) == len(plain)  # one per capture, the revisit included
    # A TimeGate answers "as of" any date with the memento closest to it.
    first = plain[0]
    archived = datetime.strptime(first.warc_date[:19], "%Y-%m-%dT%H:%M:%S")  # WARC-Date
    when = archived.strftime("%a, %d %b %Y %H:%M:%S GMT")
    gate = served.replay(f"/archive/{url}", {"Accept-Datetime": when})
    # pywb negotiates in place (RFC 7089 pattern 2.2): the memento itself, marked as such
    assert gate.status == 200, gate.status
    assert gate.headers["Memento-Datetime"] == when
    assert "accept-datetime" in gate.headers["Vary"].lower()
    assert 'rel="original"' in gate.headers["Link"] and 'rel="timemap"' in gate.headers["Link"]
    assert (
        gate.body
        == served.replay(
            f"/archive/{first.warc_date[:19].replace('-', '').replace(':', '').replace('T', '')}"
            f"/{url}"
        ).body
    )


def test_unknown_ids_and_unreplayable_captures_are_404(served: Served) -> None:
    blocked = served.captures["/private/secret"][0]
    assert blocked.error_class == "robots-blocked"
    paths = [
        "/resource/0000000000000000",
        "/resource/sid_nope",
        "/resource/https://nowhere.example/",
        "/capture/cap_nope",
        "/capture/cap_nope/payload",
        f"/capture/{blocked.capture_id}/payload",
        "/replay/cap_nope",
        f"/replay/{blocked.capture_id}",
        f"/diff/cap_nope/{blocked.capture_id}",
        "/no/such/page",
    ]
    for path in paths:
        page = served.view(path)
        assert page.status == 404, path
        assert "Not found" in page.text and page.headers["Content-Type"].startswith("text/html")
    assert "robots-blocked" in served.view(f"/replay/{blocked.capture_id}").plain()
    assert "no capture with id cap_nope" in served.view("/capture/cap_nope").plain()


def test_viewer_pages_escape_the_archive_and_refuse_strangers(served: Served) -> None:
    res = served.resources["/long"]
    hostile = served.captures["/hostile"][0]
    for path in ("/", f"/resource/{res.resource_id}", f"/capture/{hostile.capture_id}"):
        page = served.view(path)
        assert page.status == 200
        assert "<script" not in page.text.lower()  # not ours, and none from the archive
        assert "<img src=x" not in page.text
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    card = served.view(f"/resource/{res.resource_id}").text
    assert "&lt;script&gt;document.title=&#39;owned&#39;&lt;/script&gt;Minutes" in card
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in card
    assert "Hostile &lt;b&gt;page&lt;/b&gt;" in served.view(f"/capture/{hostile.capture_id}").text
    # A name that is not ours (DNS rebinding) gets nothing, on either origin.
    for port in (served.server.viewer, served.server.replay):
        stranger = get(port, "/", {"Host": f"attacker.example:{port}"})
        assert stranger.status == 421, port
    assert (
        get(served.server.viewer, "/", {"Host": f"localhost:{served.server.viewer}"}).status == 200
    )
    post = http.client.HTTPConnection("127.0.0.1", served.server.viewer, timeout=10)
    post.request("POST", "/", body=b"x")
    assert post.getresponse().status == 405
    post.close()


@pytest.mark.skipif(browser.missing() is not None, reason=str(browser.missing()))
def test_browser_replays_hostile_page_without_touching_the_viewer(
    served: Served, tmp_path: Path
) -> None:
    hostile = served.captures["/hostile"][0]
    viewer = f"http://127.0.0.1:{served.server.viewer}"
    probe_text = (
        "var p = document.getElementById('probe');"
        "return p && p.textContent !== 'script did not run' && p.textContent"
    )
    with browser.Browser(tmp_path / "chromium") as b:
        b.get(f"{viewer}/")
        # Cookies belong to a host, not a port: without the sandbox, the replay origin
        # (same host, other port) could read this one.
        b.add_cookie("viewer_session", "s3cret")
        b.get(f"{viewer}/replay/{hostile.capture_id}")
        title = b.execute("return document.title")
        assert b.execute("return document.cookie") == "viewer_session=s3cret"

        b.enter_frame("iframe.replay-frame")
        probe = b.wait_for(probe_text)
        # The archived page rendered and its script ran, and every reach outside its own
        # document failed: it lives in an opaque origin of its own.
        assert b.execute("return document.querySelector('h1').textContent") == "Hostile page"
        assert probe == "parent-blocked top-blocked frame-blocked cookie-blocked", probe
        assert b.execute("return self.origin") == "null"
        b.leave_frames()
        assert MARKER not in b.execute("return document.documentElement.outerHTML")
        assert b.execute("return document.title") == title
        b.screenshot(tmp_path / "replay.png")

        # "Open alone" puts it on the replay origin at top level: the CSP header sandboxes
        # it there too, so the viewer's cookie stays out of reach.
        found = re.search(
            r'href="([^"]+)"[^>]*>open alone', served.view(f"/replay/{hostile.capture_id}").text
        )
        assert found
        b.get(unescape(found.group(1)))
        probe = b.wait_for(probe_text)
        assert "cookie-blocked" in probe and "s3cret" not in probe, probe
        assert b.execute("return self.origin") == "null"


@pytest.mark.skipif(browser.missing() is not None, reason=str(browser.missing()))
def test_browser_shows_archived_pdfs_in_its_own_viewer(served: Served, tmp_path: Path) -> None:
    """Chromium refuses its PDF viewer inside a frame with a sandbox attribute (a blocked
    plugin); a PDF's frame has none, and shows the archived bytes from the replay origin."""
    pdf = served.captures["/paper.pdf"][0]
    assert (
        f'href="/replay/{pdf.capture_id}">view the PDF'
        in served.view(f"/capture/{pdf.capture_id}").text
    )
    page = served.view(f"/replay/{pdf.capture_id}")
    frame = re.search(r'<iframe[^>]*\bsrc="([^"]+)"[^>]*>', page.text)
    assert frame and "sandbox" not in frame.group(0), page.text
    replay_origin = f"http://127.0.0.1:{served.server.replay}"
    src = unescape(frame.group(1))
    assert re.match(re.escape(replay_origin) + r"/archive/\d{14}id_/", src), src
    replayed = served.replay(src.removeprefix(replay_origin))
    assert replayed.body == served.site.route("/paper.pdf").body
    assert replayed.headers["Content-Type"].startswith("application/pdf")
    assert "sandbox allow-scripts" in replayed.headers.get_all("Content-Security-Policy")
    # Other pages keep their sandboxed frame.
    plain = served.view(f"/replay/{served.captures['/plain'][0].capture_id}").text
    assert 'sandbox="allow-scripts"' in plain

    with browser.Browser(tmp_path / "chromium") as b:
        b.get(f"http://127.0.0.1:{served.server.viewer}/replay/{pdf.capture_id}")
        b.enter_frame("iframe.replay-frame")
        shown = b.wait_for("return document.contentType === 'application/pdf' && 'pdf'")
        assert shown == "pdf", b.execute("return document.documentElement.outerHTML")
        # The PDF viewer's document belongs to the replay origin, never to the viewer's.
        assert b.execute("return self.origin") == replay_origin
        b.leave_frames()
        shot = b.screenshot(tmp_path / "pdf.png")
        assert shot.stat().st_size > 5_000


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_viewer_on_postgresql(
    store: Store,
    site: LocalSite,
    archive_home: Path,  # for its clean ARCHIVE_* environment
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The same viewer over a PostgreSQL store (the fixture's schema)."""
    home = store.config.home
    monkeypatch.setenv("ARCHIVE_HOME", str(home))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", store.config.database_url)
    run("crawl", "--source", str(_text_list(tmp_path, site, ["/plain", "/r1"])))
    run("crawl", "--ids", site.url("/plain"))
    server = Server(home, tmp_path / "serve.log", dict(os.environ))
    try:
        caps, res = _load(store, site)
        first, second = caps["/plain"]
        for path in (
            "/",
            "/?q=plain&state=alive",
            f"/resource/{res['/plain'].stable_id}",
            f"/capture/{second.capture_id}",
            f"/diff/{first.capture_id}/{second.capture_id}",
            "/report",
            f"/replay/{second.capture_id}",
        ):
            assert get(server.viewer, path).status == 200, path
        assert res["/plain"].resource_id in get(server.viewer, "/?q=plain&state=alive").text
        stamp = re.sub(r"\D", "", second.warc_date or "")[:14]
        raw = get(server.replay, f"/archive/{stamp}id_/{site.url('/plain')}")
        assert raw.body == site.route("/plain").body
    finally:
        server.stop()


def _text_list(tmp_path: Path, site: LocalSite, paths: list[str]) -> Path:
    path = tmp_path / "list.txt"
    path.write_text("".join(site.url(p) + "\n" for p in paths))
    return path


def cat(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``archive cat`` through the real command line, its output as bytes."""
    return subprocess.run([ARCHIVE, "cat", *args], capture_output=True, timeout=120, check=False)


def test_cat_and_viewer_give_the_same_payload(served: Served) -> None:
    """One decoder and one rule for a revisit: `archive cat --payload` and the viewer's
    decoded download are the same bytes, for a gzip-encoded page and for a revisit."""
    gz = served.captures["/gzip"][0]
    plain, revisit = served.captures["/plain"]
    expected = {
        gz.capture_id: served.site.route("/gzip").content,
        plain.capture_id: served.site.route("/plain").body,
        revisit.capture_id: served.site.route("/plain").body,
    }
    for capture_id, page in expected.items():
        printed = cat(capture_id, "--payload")
        assert printed.returncode == 0, printed.stderr
        downloaded = served.view(f"/capture/{capture_id}/payload?decoded=1")
        assert downloaded.status == 200
        assert printed.stdout == downloaded.body == page, capture_id


def cat_on_terminal(*args: str) -> tuple[int, bytes, bytes]:
    """``archive cat`` with its standard output a terminal (a pty), as a person runs it."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([ARCHIVE, "cat", *args], stdout=terminal, stderr=subprocess.PIPE)
    os.close(terminal)
    out = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(controller)
    _, err = process.communicate(timeout=120)
    return process.returncode, bytes(out), err


def test_cat_keeps_binary_payloads_off_terminals(served: Served, tmp_path: Path) -> None:
    pdf = served.captures["/paper.pdf"][0]
    body = served.site.route("/paper.pdf").body
    for part in ((), ("--payload",), ("--raw",)):
        code, out, err = cat_on_terminal(pdf.capture_id, *part)
        assert code == 1 and b"%PDF" not in out, (part, out[:200])
        message = err.decode().strip()
        assert "\n" not in message and "application/pdf, not text" in message, message
        assert "-o FILE" in message
    code, out, err = cat_on_terminal(served.captures["/plain"][0].capture_id)
    assert code == 0 and ARTICLES["/plain"][1].encode() in out, err
    # A file given, or a pipe: the bytes as archived.
    target = tmp_path / "paper.pdf"
    code, out, err = cat_on_terminal(pdf.capture_id, "--payload", "-o", str(target))
    assert code == 0 and out == b"", err
    assert target.read_bytes() == body
    assert cat(pdf.capture_id, "--payload").stdout == body
    printed = cat(pdf.capture_id, "--headers", "--output", str(tmp_path / "h.txt"))
    assert printed.returncode == 0 and printed.stdout == b""
    assert b"Content-Type: application/pdf" in (tmp_path / "h.txt").read_bytes()


def test_a_row_without_length_has_no_locator_anywhere(served: Served, tmp_path: Path) -> None:
    """A capture row naming a file and offset but no length gets the same answer from the
    model, `archive cat`, the viewer and the export: it has no locator."""
    url = served.site.url("/plain") + "?lengthless"
    listing = tmp_path / "list.txt"
    listing.write_text(url + "\n")
    run("import", str(listing))
    like = served.captures["/plain"][0]
    with served.store.session() as s:
        res = s.scalar(select(Resource).where(Resource.url == url))
        assert res is not None
        row = Capture(
            capture_id="cap_lengthless",
            resource_id=res.resource_id,
            requested_url=url,
            fetched_at=like.fetched_at,
            http_status=200,
            warc_record_id=like.warc_record_id,
            warc_date=like.warc_date,
            warc_file=like.warc_file,
            warc_offset=like.warc_offset,
            warc_length=None,
        )
        assert row.locator is None and like.locator is not None
        s.add(row)
        resource_id = res.resource_id
    try:
        for part in ((), ("--payload",), ("--raw",), ("--headers",)):
            printed = cat("cap_lengthless", *part)
            assert printed.returncode == 1
            assert b"is in no WARC file" in printed.stderr, printed.stderr
        page = served.view("/capture/cap_lengthless")
        assert page.status == 200 and "WARC locator" not in page.plain()
        assert served.view("/capture/cap_lengthless/payload").status == 404
        assert served.view("/replay/cap_lengthless").status == 404
        exported = subprocess.run(
            [ARCHIVE, "export", "cdxj", "--ids", resource_id],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert exported.returncode == 0 and exported.stdout == ""
    finally:
        with served.store.session() as s:
            s.delete(s.get(Capture, "cap_lengthless"))
            s.delete(s.get(Resource, resource_id))
