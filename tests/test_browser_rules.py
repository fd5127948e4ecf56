"""The rules around browser capture that need no browser: when a page is a script shell,
which hosts and resources ask for the browser, how their settings are checked, and the
replay server's secret for a replayed page's own requests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.settings import Settings

from archive.extract.shell import script_shell
from archive.registry.entries import validate
from archive.registry.sources import Row
from archive.web.replay_fetch import HEADER, ReplayToken, preflight_headers
from crawler.browser import wants_browser
from settings.env import SettingError, checked, host_matches

ARCHIVE = str(Path(sys.executable).parent / "archive")
SCRIPT = b"<script src='/app.js'></script>"


@pytest.mark.parametrize(
    ("html", "text", "why"),
    [
        (
            b"<body><noscript>You need to enable JavaScript to run this app.</noscript>"
            b"<div id='root'></div>" + SCRIPT,
            "",
            "noscript",
        ),
        (
            b"<body><p>This website requires javascript to properly function.</p>" + SCRIPT,
            "This website requires javascript to properly function.",
            "text",
        ),
        (b'<body><div id="__next"></div>' + SCRIPT + b"</body>", "", "root"),
        (
            b"<body><p id=msg>JavaScript has not run.</p>" + SCRIPT,
            "JavaScript has not run.",
            "text",
        ),
        (b"<body><app-root></app-root>" + SCRIPT, "", "root"),
    ],
)
def test_script_shells_are_recognised(html: bytes, text: str, why: str) -> None:
    reason = script_shell(html, text, 300)
    assert reason is not None and why in reason.replace("application root", "root")


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (
            b"<article><p>" + b"A long article. " * 40 + b"</p></article>" + SCRIPT,
            "A long article. " * 40,
        ),
        (b"<body><p>Short and plain.</p></body>", "Short and plain."),  # no script at all
        (b"<body><p>Moved: see the new page.</p>" + SCRIPT, "Moved: see the new page."),
        (
            b"<noscript>Enable JavaScript</noscript><article>"
            + b"Text. " * 100
            + b"</article>"
            + SCRIPT,
            "Text. " * 100,
        ),  # a notice, but the page has its text
    ],
)
def test_pages_with_their_text_are_not_shells(html: bytes, text: str) -> None:
    assert script_shell(html, text, 300) is None


def test_host_patterns() -> None:
    patterns = checked("ARCHIVE_BROWSER_HOSTS", "x.com, *.Example.org")
    assert patterns == ("x.com", "*.example.org")
    assert host_matches("x.com", patterns) and host_matches("www.x.com", patterns)
    assert host_matches("news.example.org", patterns) and not host_matches("example.org", patterns)
    assert not host_matches("notx.com", patterns)
    with pytest.raises(SettingError, match="ARCHIVE_BROWSER_HOSTS='x.com/a' is not valid: must"):
        checked("ARCHIVE_BROWSER_HOSTS", "x.com/a")


def test_which_pages_start_in_the_browser() -> None:
    hosts = Settings({"ARCHIVE_BROWSER_HOSTS": "*.social.example"})
    assert wants_browser(hosts, "https://m.social.example/post/1")
    assert not wants_browser(hosts, "https://news.example/a")
    assert wants_browser(hosts, "https://news.example/a", "browser")
    assert wants_browser(Settings({"ARCHIVE_BROWSER": True}), "https://news.example/a")


def test_a_resource_may_ask_for_the_browser() -> None:
    entry = validate(Row(3, {"url": "https://a.example/", "fetch_method": "Browser"}))
    assert entry.meta["fetch_method"] == "browser"
    with pytest.raises(ValueError, match="fetch_method 'chrome' is not one of: browser, http"):
        validate(Row(4, {"url": "https://a.example/", "fetch_method": "chrome"}))


def test_a_bad_browser_setting_exits_2_naming_it(archive_home: Path) -> None:
    env_bad = subprocess.run(
        [ARCHIVE, "crawl", "--url", "http://127.0.0.1:9/"],
        capture_output=True,
        text=True,
        env={**os.environ, "ARCHIVE_BROWSER_HOSTS": "bad host!"},
        check=False,
    )
    assert env_bad.returncode == 2 and "ARCHIVE_BROWSER_HOSTS" in env_bad.stderr
    flag_bad = subprocess.run(
        [ARCHIVE, "crawl", "--url", "http://127.0.0.1:9/", "-s", "ARCHIVE_BROWSER_TIMEOUT=0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert flag_bad.returncode == 2 and "ARCHIVE_BROWSER_TIMEOUT" in flag_bad.stderr
    assert list(archive_home.iterdir()) == []


def test_the_replay_secret_is_shared_only_with_its_own_pages() -> None:
    token = ReplayToken("s3cret")
    script = token.script("127.0.0.1:8601").decode()
    assert script.index('location.host !== "127.0.0.1:8601"') < script.index("s3cret")
    assert token.carried_by({"HTTP_X_ARCHIVE_REPLAY": "s3cret"})
    assert not token.carried_by({"HTTP_X_ARCHIVE_REPLAY": "guess"}) and not token.carried_by({})
    asked = {
        "REQUEST_METHOD": "OPTIONS",
        "HTTP_ORIGIN": "null",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": HEADER.lower(),
    }
    assert dict(preflight_headers(asked) or [])["Access-Control-Allow-Origin"] == "null"
    assert preflight_headers({**asked, "HTTP_ORIGIN": "https://elsewhere.example"}) is None
    assert preflight_headers({**asked, "REQUEST_METHOD": "GET"}) is None
