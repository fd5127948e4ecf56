"""Browser capture: pages whose text is written by script, captured with headless Chromium.

End to end through ``archive crawl`` against local sites: the plain HTTP capture of a
page that writes its text after fetching ``/data.json`` lacks the text; ``--browser``
and the automatic fallback capture it with the text, the JSON's exchange, a screenshot
(a PNG of the page's size) and the rendered DOM in the WARC; 50 lazily loaded images are
archived; the address guard refuses what the page asks for on private addresses; pywb
replays the browser capture with its text; no Chromium outlives a stopped crawl.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import browser
import pytest
from PIL import Image
from servers import ARCHIVE, Server, get, run
from sites import Fixed, LocalSite, Redirect, Slow, html_page, minimal_pdf
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from archive.config import load_config
from archive.store.db import Store
from archive.store.models import Capture
from archive.web.replay import memento_path
from settings import DOWNLOADER_MIDDLEWARES

pytestmark = pytest.mark.slow

TEXT = (
    "The harbour lamps were lit at dusk by the keeper, who walked the length of the quay"
    " each evening with a long pole and a can of oil."
)
PAGE_HEIGHT = 1600
#: A page that writes its text after an XHR, in a body of a known height.
SCRIPTED = f"""<!DOCTYPE html>
<html><head><title>Harbour lamps</title>
<style>html, body {{ margin: 0; }}
#root {{ height: {PAGE_HEIGHT}px; overflow: hidden; }}</style></head>
<body><div id="root"><p>JavaScript has not run.</p></div>
<script>
fetch('/data.json').then(function (r) {{ return r.json(); }}).then(function (d) {{
  document.getElementById('root').innerHTML =
    '<article><h1>' + d.title + '</h1><p id="text">' + d.text + '</p></article>';
}});
</script></body></html>""".encode()
DATA = json.dumps({"title": "Harbour lamps", "text": TEXT}).encode()
JSON = "application/json"


def missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[browser]')"
    if not os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium is not installed (apt-get install -y chromium)"
    return None


@pytest.fixture(autouse=True)
def _browser_here() -> None:
    if reason := missing():
        pytest.skip(reason)


@pytest.fixture
def scripted(site: LocalSite) -> LocalSite:
    site.set("/lamps", Fixed(SCRIPTED))
    site.set("/data.json", Fixed(DATA, content_type=JSON))
    return site


def open_store(home: Path) -> Store:
    return Store(load_config(home=home, database_url=""))


def captures(home: Path, url: str) -> list[Capture]:
    store = open_store(home)
    try:
        with store.session() as s:
            found = s.scalars(
                select(Capture).where(Capture.requested_url == url).order_by(Capture.fetched_at)
            ).all()
            for c in found:
                c.requisites  # noqa: B018 - loaded while the session is open
            return list(found)
    finally:
        store.close()


def records(home: Path) -> list[tuple[str, str, str, bytes]]:
    """(type, target URI, content type, content) of every record of every WARC file."""
    out = []
    for path in sorted((home / "warcs").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                headers = record.rec_headers
                out.append(
                    (
                        record.rec_type,
                        headers.get_header("WARC-Target-URI") or "",
                        headers.get_header("Content-Type") or "",
                        record.content_stream().read(),
                    )
                )
    return out


def warcio_check(home: Path) -> None:
    files = [str(p) for p in sorted((home / "warcs").glob("*.warc.gz"))]
    warcio = str(Path(sys.executable).parent / "warcio")
    result = subprocess.run([warcio, "check", *files], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_browser_capture_has_the_scripted_text_the_http_capture_lacks(
    scripted: LocalSite, archive_home: Path
) -> None:
    url = scripted.url("/lamps")
    run("crawl", "--url", url, "-s", "ARCHIVE_BROWSER_FALLBACK=0")
    [plain] = captures(archive_home, url)
    assert plain.fetch_method == "scrapy" and TEXT not in (plain.full_text or "")
    assert "JavaScript has not run" in (plain.full_text or "")
    assert scripted.hits("/data.json") == 0

    run("crawl", "--url", url, "--browser")
    plain, rendered = captures(archive_home, url)
    assert rendered.fetch_method == "browser" and rendered.http_status == 200
    assert TEXT in (rendered.full_text or ""), rendered.full_text
    kinds = {r.kind: r for r in rendered.requisites}
    assert kinds["fetch"].url == scripted.url("/data.json") and kinds["fetch"].status == 200
    assert {"screenshot", "dom"} <= set(kinds)

    found = records(archive_home)
    [data] = [r for r in found if r[0] == "response" and r[1] == scripted.url("/data.json")]
    assert data[3].endswith(DATA)  # the XHR's exchange, as any other
    [shot] = [r for r in found if r[0] == "resource" and r[1] == f"urn:screenshot:{url}"]
    assert shot[2] == "image/png" and shot[3].startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(shot[3]))
    assert image.format == "PNG" and image.size == (1280, PAGE_HEIGHT)
    [dom] = [r for r in found if r[0] == "resource" and r[1] == f"urn:dom:{url}"]
    assert dom[2].startswith("text/html") and TEXT.encode() in dom[3]
    meta = [json.loads(r[3]) for r in found if r[0] == "metadata"]
    assert [m.get("fetch_method") for m in meta] == ["scrapy", "browser"]
    warcio_check(archive_home)

    card = run("show", url, "--json")
    assert TEXT in json.loads(card.stdout)["preview"]["text"]

    # The WARCs alone give it back: the preview from the rendered DOM, the screenshot.
    (archive_home / "archive.sqlite3").unlink()
    run("reindex")
    plain, rendered = captures(archive_home, url)
    assert (plain.fetch_method, rendered.fetch_method) == ("scrapy", "browser")
    assert TEXT in (rendered.full_text or "") and TEXT not in (plain.full_text or "")
    assert {r.kind for r in rendered.requisites} >= {"fetch", "screenshot", "dom"}


def test_a_script_shell_is_captured_again_with_the_browser(
    scripted: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    plain_url, asked_url = scripted.url("/plain"), scripted.url("/asked")
    scripted.set("/plain", Fixed(html_page("Plain", "A plain page needs no script. " * 4).encode()))
    scripted.set("/asked", Fixed(html_page("Asked", "This one asked for the browser.").encode()))
    listing = tmp_path / "list.yaml"
    listing.write_text(
        f"- url: {scripted.url('/lamps')}\n- url: {plain_url}\n"
        f"- url: {asked_url}\n  fetch_method: browser\n"
    )
    result = run("crawl", "--source", str(listing))
    assert "captured again with the browser" in result.stderr
    first, second = captures(archive_home, scripted.url("/lamps"))
    assert (first.fetch_method, second.fetch_method) == ("scrapy", "browser")
    assert TEXT not in (first.full_text or "") and TEXT in (second.full_text or "")
    assert [c.fetch_method for c in captures(archive_home, plain_url)] == ["scrapy"]
    assert [c.fetch_method for c in captures(archive_home, asked_url)] == ["browser"]
    assert scripted.hits("/data.json") == 1 and scripted.hits("/asked") == 1


def test_a_page_whose_preview_is_deferred_is_not_taken_for_a_script_shell(
    scripted: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    """Without its preview a page's text is unknown, not empty: no browser is started."""
    listing = tmp_path / "list.txt"
    listing.write_text(scripted.url("/lamps") + "\n")
    result = run("crawl", "--source", str(listing), "--defer-previews")
    assert "captured again with the browser" not in result.stderr
    assert [c.fetch_method for c in captures(archive_home, scripted.url("/lamps"))] == ["scrapy"]
    assert scripted.hits("/data.json") == 0


def test_the_browser_follows_redirects_hop_by_hop(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    site.set("/old", Redirect("/new/lamps", status=301))
    site.set("/new/lamps", Fixed(SCRIPTED.replace(b"'/data.json'", b"'data.json'")))
    site.set("/new/data.json", Fixed(DATA, content_type=JSON))  # relative to where it ended
    site.set(
        "/paper.pdf", Fixed(minimal_pdf("A paper, not a page"), content_type="application/pdf")
    )
    listing = tmp_path / "list.txt"
    listing.write_text(f"{site.url('/old')}\n{site.url('/paper.pdf')}\n")
    run("crawl", "--source", str(listing), "--browser")
    # A PDF has nothing to render: its fetch is the capture, its text the preview.
    [paper] = captures(archive_home, site.url("/paper.pdf"))
    assert paper.http_status == 200 and "A paper, not a page" in (paper.full_text or "")
    assert paper.content_type == "application/pdf" and not paper.requisites
    [capture] = captures(archive_home, site.url("/old"))
    assert [(h["url"], h["status"]) for h in capture.redirect_chain] == [
        (site.url("/old"), 301),
        (site.url("/new/lamps"), 200),
    ]
    assert capture.final_url == site.url("/new/lamps") and TEXT in (capture.full_text or "")
    assert site.hits("/old") == site.hits("/new/lamps") == site.hits("/new/data.json") == 1


def test_lazy_images_load_as_the_browser_scrolls(site: LocalSite, archive_home: Path) -> None:
    images = "".join(
        f'<div style="height: 450px"><img loading="lazy" src="/img/{n}.png" width="10"'
        ' height="10"></div>'
        for n in range(50)
    )
    site.set("/gallery", Fixed(f"<html><body><h1>Gallery</h1>{images}</body></html>".encode()))
    png = io.BytesIO()
    Image.new("RGB", (10, 10), (200, 30, 30)).save(png, "PNG")
    for n in range(50):
        site.set(f"/img/{n}.png", Fixed(png.getvalue(), content_type="image/png"))
    url = site.url("/gallery")
    run("crawl", "--url", url, "--browser", "--no-requisites")
    [capture] = captures(archive_home, url)
    loaded = {r.url for r in capture.requisites if r.kind == "image" and r.status == 200}
    assert loaded == {site.url(f"/img/{n}.png") for n in range(50)}
    archived = {r[1] for r in records(archive_home) if r[0] == "response"}
    assert all(site.url(f"/img/{n}.png") in archived for n in range(50))
    assert all(site.hits(f"/img/{n}.png") == 1 for n in range(50))

    # The per-page cap on requisites holds for what the browser loads, too.
    run("crawl", "--url", url, "--browser", "-s", "ARCHIVE_REQUISITES_MAX=10")
    _, capped = captures(archive_home, url)
    assert len([r for r in capped.requisites if r.kind == "image"]) == 10
    assert capped.requisites_cut == "count" and (capped.requisites_left_out or 0) >= 40


def test_the_address_guard_holds_in_the_browser(
    site: LocalSite, archive_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalSite(
        {"/secret": Fixed(b'{"secret": 1}', content_type=JSON)}, host="127.0.0.2"
    ) as inside:
        page = (
            "<html><body><p id='out'>waiting</p>"
            f"<img src='http://10.255.255.1/pixel.png'>"
            f"<script>fetch('{inside.url('/secret')}').then(r => r.text())"
            ".then(t => { document.getElementById('out').textContent = t; })"
            ".catch(e => { document.getElementById('out').textContent = 'refused'; });"
            "</script></body></html>"
        )
        site.set("/asks", Fixed(page.encode()))
        # The page's own host passes; every other private address meets the guard.
        guards = {
            **DOWNLOADER_MIDDLEWARES,
            "crawler.middlewares.AddressGuardMiddleware": None,
            "browser_guard.OneHostGuard": 60,
        }
        tests = str(Path(__file__).parent)
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]))
        monkeypatch.setenv("ARCHIVE_TEST_GUARD_ALLOWS", f"{site.host}:{site.port}")
        url = site.url("/asks")
        run(
            "crawl", "--url", url, "--browser", "-s", f"DOWNLOADER_MIDDLEWARES={json.dumps(guards)}"
        )
        assert inside.hits("/secret") == 0
        secret_url = inside.url("/secret")
    [capture] = captures(archive_home, url)
    assert capture.http_status == 200 and "refused" in (capture.full_text or "")
    refused = {r.url: r.error_class for r in capture.requisites if r.error_class}
    assert refused == {
        secret_url: "private-address",
        "http://10.255.255.1/pixel.png": "private-address",
    }

    # Without the permission, the page itself is refused before any byte is sent.
    monkeypatch.delenv("ARCHIVE_ALLOW_PRIVATE")
    site.set("/inside", Fixed(SCRIPTED))
    run("crawl", "--url", site.url("/inside"), "--browser")
    [refused_page] = captures(archive_home, site.url("/inside"))
    assert refused_page.error_class == "private-address" and site.hits("/inside") == 0
    assert refused_page.fetch_method == "browser"


def test_replay_shows_the_browser_capture_with_its_text(
    scripted: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    if reason := browser.missing():
        pytest.skip(reason)
    url = scripted.url("/lamps")
    run("crawl", "--url", url, "--browser")
    [capture] = captures(archive_home, url)
    assert capture.warc_date
    scripted.stop()
    server = Server(archive_home, tmp_path / "serve.log", dict(os.environ))
    try:
        page = get(server.viewer, f"/capture/{capture.capture_id}")
        assert f"/capture/{capture.capture_id}/screenshot.png" in page.text
        shot = get(server.viewer, f"/capture/{capture.capture_id}/screenshot.png")
        assert shot.status == 200 and shot.headers["Content-Type"] == "image/png"
        assert shot.headers["X-Content-Type-Options"] == "nosniff"
        assert shot.body.startswith(b"\x89PNG")
        replayed = f"http://127.0.0.1:{server.replay}" + memento_path(url, capture.warc_date)
        with browser.Browser(tmp_path / "chromium") as b:
            b.get(replayed)
            found = b.wait_for(
                "var t = document.getElementById('text'); return t && t.textContent;", timeout=20
            )
        assert found == TEXT
    finally:
        server.stop()


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid``, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _chromium(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"chromium" in command:
            out.add(pid)
    return out


def test_no_chromium_outlives_a_stopped_crawl(site: LocalSite, archive_home: Path) -> None:
    site.set("/busy", Fixed(SCRIPTED.replace(b"/data.json", b"/slow.json")))
    site.set("/slow.json", Slow(Fixed(DATA, content_type=JSON), 60))
    proc = subprocess.Popen(
        [ARCHIVE, "crawl", "--url", site.url("/busy"), "--browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        seen: set[int] = set()
        while site.hits("/slow.json") == 0 and time.monotonic() < deadline:
            seen |= _chromium(_descendants(proc.pid))
            time.sleep(0.1)
        seen |= _chromium(_descendants(proc.pid))
        assert site.hits("/slow.json") == 1 and seen
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    deadline = time.monotonic() + 5
    while any(map(_alive, seen)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in seen if _alive(pid)]
