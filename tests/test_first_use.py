"""What a new user meets first: the card's preview, redirects, and the crawl's output.

Each test runs the real `archive` command against a local site, as a user would.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sites import Fixed, LocalSite, Redirect, minimal_pdf
from warctools import assert_warcio_check

ARCHIVE = str(Path(sys.executable).parent / "archive")
ERROR_PAGE = b"<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>"
ERROR_PAGE += b"<hr><center>nginx/1.22.1</center></body></html>"


def archive(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCHIVE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def crawled(*args: str) -> subprocess.CompletedProcess[str]:
    result = archive("crawl", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def preview_of(card: str) -> str:
    assert "Cached Content Preview" in card, card
    return card.split("Cached Content Preview", 1)[1].split("Resource ID:")[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_preview_is_the_last_good_capture_not_the_error_page(
    site: LocalSite, archive_home: Path
) -> None:
    site.set(
        "/report.pdf", Fixed(minimal_pdf("Quarterly findings"), content_type="application/pdf")
    )
    url = site.url("/report.pdf")
    crawled("--url", url)
    site.set("/report.pdf", Fixed(ERROR_PAGE, status=404))
    crawled("--url", url)

    card = archive("show", url).stdout
    preview = preview_of(card)
    assert preview.startswith(" · HTTP 200 · Fetched")
    assert "Quarterly findings" in preview
    assert "the latest check" in preview and "got HTTP 404" in preview
    assert "nginx" not in preview and "404 Not Found" not in preview
    assert "HTTP 404" in card.split("Cached Content Preview")[0]  # the check is in the history


@pytest.mark.slow
def test_a_failed_fetch_is_never_shown_as_a_preview(archive_home: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/gone"
    crawled("--url", url)
    preview = preview_of(archive("show", url).stdout)
    assert preview.startswith(" · no good capture archived yet (latest check")
    assert "refused" in preview and "0 KB" not in preview


@pytest.mark.slow
def test_a_moved_page_keeps_its_good_copy(site: LocalSite, archive_home: Path) -> None:
    crawled("--url", site.url("/r1"))  # 301 -> 302 -> /final, 200

    rows = json.loads(archive("report", "--json", "--state", "redirected").stdout)
    (row,) = rows
    assert row["url"] == site.url("/r1") and row["state"] == "redirected"
    assert row["final_url"] == site.url("/final")
    assert row["last_good_capture"] is not None
    preview = preview_of(archive("show", site.url("/r1")).stdout)
    assert preview.startswith(" · HTTP 200")


@pytest.mark.slow
def test_a_deep_link_sent_to_the_front_page_is_not_a_good_copy(
    site: LocalSite, archive_home: Path
) -> None:
    site.set("/story/2019/budget", Redirect("/", status=301))
    crawled("--url", site.url("/story/2019/budget"))
    (row,) = json.loads(archive("report", "--json", "--state", "redirected").stdout)
    assert row["last_good_capture"] is None


@pytest.mark.slow
def test_a_redirect_loop_is_a_broken_link(site: LocalSite, archive_home: Path) -> None:
    site.set("/loop/a", Redirect("/loop/b"))
    site.set("/loop/b", Redirect("/loop/a"))
    url = site.url("/loop/a")
    crawled("--url", url)

    (capture,) = json.loads(archive("history", url, "--json").stdout)
    assert capture["error_class"] == "redirect-loop"
    card = json.loads(archive("show", url, "--json").stdout)
    # A failure towards "dead" (checked again within days), not an ignored fetch (30 days).
    assert card["link_state"] == "unknown"
    wait = datetime.fromisoformat(card["next_due_at"]) - datetime.fromisoformat(
        capture["fetched_at"]
    )
    assert timedelta(days=2) < wait < timedelta(days=4)


@pytest.mark.slow
def test_an_unreachable_host_is_one_warning_line(archive_home: Path, tmp_path: Path) -> None:
    port = closed_port()
    listing = tmp_path / "dead.txt"
    listing.write_text("".join(f"http://127.0.0.1:{port}/page/{i}\n" for i in range(4)))
    result = crawled("--source", str(listing))

    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, result.stderr
    assert "127.0.0.1" in warnings[0]
    progress = [line for line in result.stderr.splitlines() if "-> refused" in line]
    assert len(progress) == 4  # each page's outcome is still reported


@pytest.mark.slow
def test_verbose_crawl_keeps_scrapys_own_lines(archive_home: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/page"
    result = crawled("--url", url, "-v")
    assert "Gave up retrying" in result.stderr


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode not in (0, None), result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("name", "value", "command", "named"),
    [
        ("ARCHIVE_DOWNLOAD_DELAY", "fast", "stats", "ARCHIVE_DOWNLOAD_DELAY='fast'"),
        ("ARCHIVE_ALLOW_PRIVATE", "maybe", "stats", "ARCHIVE_ALLOW_PRIVATE='maybe'"),
        ("ARCHIVE_DATABASE_URL", "nosuchdb://x", "list", "'nosuchdb://x' is not a database"),
    ],
)
def test_a_bad_setting_is_one_line(
    archive_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    command: str,
    named: str,
) -> None:
    monkeypatch.setenv(name, value)
    assert named in one_line_error(archive(command))


def test_verbose_shows_the_traceback(archive_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", "nosuchdb://x")
    result = archive("-v", "list")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_a_store_that_cannot_be_written_is_one_line(
    archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("https://example.org/a\n")
    assert archive("import", str(listing)).returncode == 0
    listing.write_text("https://example.org/b\n")
    db = archive_home / "archive.sqlite3"
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", f"sqlite:///file:{db}?mode=ro&uri=true")
    assert "cannot be written" in one_line_error(archive("import", str(listing)))


@pytest.mark.parametrize("command", [["crawl", "--all"], ["reindex"], ["import", "list.txt"]])
def test_a_home_that_cannot_be_made_is_one_line(
    archive_home: Path, tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "list.txt").write_text("https://example.org/a\n")
    (tmp_path / "a-file").write_text("")
    home = tmp_path / "a-file" / "home"
    result = subprocess.run(
        [ARCHIVE, "--home", str(home), *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert str(home) in one_line_error(result)


def test_read_only_commands_never_create_a_store(archive_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "deeper"
    for command in (["stats"], ["list"], ["show", "x"], ["report"], ["verify"]):
        assert "no archive at" in one_line_error(archive("--home", str(missing), *command))
    assert not (tmp_path / "missing").exists()


def test_serve_refuses_a_replay_port_in_use(archive_home: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("https://example.org/a\n")
    assert archive("import", str(listing)).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_error(
            archive("serve", "--port", "0", "--replay-port", str(port), timeout=60)
        )
    assert f"port {port}" in line and "--replay-port" in line


def import_text(path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path.write_text(text)
    return archive("import", str(path))


def test_reimporting_an_id_with_another_url_is_refused(archive_home: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    assert (
        import_text(listing, "id,url\n6c6591f31882e162,https://news.example/story\n").returncode
        == 0
    )
    hijack = import_text(listing, "id,url\n6c6591f31882e162,https://evil.example/other\n")
    assert "0 new, 0 updated, 0 unchanged, 1 rejected" in hijack.stdout
    assert f"{listing}:2: skipped:" in hijack.stderr
    assert "https://news.example/story" in hijack.stderr  # the stored URL, named
    assert json.loads(archive("show", "6c6591f31882e162", "--json").stdout)["url"] == (
        "https://news.example/story"
    )
    # A cosmetic edit (https, a trailing slash) is no change of page.
    same = import_text(listing, "id,url\n6c6591f31882e162,https://news.example/story/\n")
    assert "1 updated" in same.stdout


def test_an_allowed_url_change_is_an_event(archive_home: Path, tmp_path: Path) -> None:
    from sqlalchemy import select

    from archive.config import load_config
    from archive.store.db import Store
    from archive.store.models import LinkEvent

    listing = tmp_path / "list.csv"
    import_text(listing, "id,url\n6c6591f31882e162,https://news.example/story\n")
    listing.write_text("id,url\n6c6591f31882e162,https://news.example/moved-story\n")
    moved = archive("import", "--allow-url-change", str(listing))
    assert "1 updated" in moved.stdout
    card = json.loads(archive("show", "6c6591f31882e162", "--json").stdout)
    assert card["url"] == "https://news.example/moved-story"
    with Store(load_config(home=archive_home)).session() as s:
        (event,) = s.scalars(select(LinkEvent)).all()
        assert "https://news.example/story" in event.reason and "moved-story" in event.reason


def test_titles_are_decoded_and_never_a_paragraph() -> None:
    from archive.extract import extract

    paragraph = "Nutrition researchers gathered in Orlando this summer " * 6
    page = f"""<html><head><title>5 Trends from Nutrition 2025 | LinkedIn</title>
    <meta property="og:title" content="{paragraph}"></head>
    <body><article><h1>5 Trends from Nutrition 2025</h1><p>{paragraph}</p></article>
    </body></html>"""
    assert extract(page.encode(), "text/html", "https://www.linkedin.com/pulse/x").title == (
        "5 Trends from Nutrition 2025"
    )
    title = "How Machine Learning is Shaping eCommerce &amp;#8211; 10 Benefits"
    escaped = f"""<html><head><title>x</title><meta property="og:title" content="{title}">
    </head><body><p>Text.</p></body></html>"""
    assert extract(escaped.encode(), "text/html", None).title == (
        "How Machine Learning is Shaping eCommerce \u2013 10 Benefits"
    )


def test_types_states_and_counts_agree(archive_home: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.yaml"
    import_text(
        listing,
        "- url: https://a.example/one\n- url: https://a.example/two\n  type: Report\n",
    )
    one = json.loads(archive("show", "https://a.example/one", "--json").stdout)
    assert (
        one["type"] == "web"
        and "web · https://a.example/one" in archive("show", "https://a.example/one").stdout
    )
    assert json.loads(archive("stats", "--json").stdout)["types"] == {"web": 1, "Report": 1}
    assert len(json.loads(archive("list", "--type", "web", "--json").stdout)) == 1
    assert len(json.loads(archive("list", "--type", "report", "--json").stdout)) == 1

    bogus = archive("list", "--state", "bogus")
    assert bogus.returncode == 2 and "unknown link state bogus" in bogus.stderr
    assert archive("list", "--limit", "1").stderr.strip() == "1 resource"
    assert "preview" in one and one["captures"] == []
    assert "--allow-url-change" in archive("import", "--help").stdout
    assert ".csv" in archive("import", "--help").stdout
    assert "JSON" in archive("stats", "--help").stdout


def test_schedule_rejects_a_bad_period_first(archive_home: Path, tmp_path: Path) -> None:
    result = archive("schedule", "--every", "banana", "--tabfile", str(tmp_path / "tab"))
    assert result.returncode == 2 and "'banana' is not like 30m" in result.stderr
    assert "crontab" not in result.stderr


def test_a_url_without_scheme_says_so(archive_home: Path, tmp_path: Path) -> None:
    result = import_text(tmp_path / "l.txt", "//m.example/page\n")
    assert "url has no scheme" in result.stderr and "'none'" not in result.stderr


def test_list_jsonl_streams_one_object_per_line(archive_home: Path, tmp_path: Path) -> None:
    import_text(tmp_path / "l.txt", "".join(f"https://a.example/{i}\n" for i in range(30)))
    lines = archive("list", "--jsonl").stdout.splitlines()
    assert len(lines) == 30 and all(
        json.loads(line)["url"].startswith("https://") for line in lines
    )
    assert [r["url"] for r in json.loads(archive("list", "--json").stdout)] == [
        json.loads(line)["url"] for line in lines
    ]


def test_scrapy_crawl_resources_is_the_same_crawl(
    site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    """`scrapy crawl resources` from the project folder: its own job, standard WARCs, the
    pages recorded as `archive crawl` records them."""
    paths = ["/a", "/b"]
    for path in paths:
        site.set(path, Fixed(f"<html><title>{path}</title><p>Page {path} text.</p>".encode()))
    listing = tmp_path / "list.txt"
    listing.write_text("".join(site.url(p) + "\n" for p in paths))
    scrapy = str(Path(sys.executable).parent / "scrapy")
    root = Path(__file__).resolve().parents[1]  # where scrapy.cfg is
    result = subprocess.run(
        [scrapy, "crawl", "resources", "-a", f"source={listing}", "-s", "LOG_LEVEL=WARNING"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert_warcio_check(sorted((archive_home / "warcs").glob("*.warc.gz")))
    listed = archive("list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert sorted(r["url"] for r in rows) == sorted(site.url(p) for p in paths)
    assert {r["link_state"] for r in rows} == {"alive"}
    assert "Page /a text." in archive("show", site.url("/a")).stdout
