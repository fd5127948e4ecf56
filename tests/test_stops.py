"""A crawl that cannot or must not go on: bad settings refused before anything starts,
SIGTERM and Ctrl-C, WARC files that cannot be written (a full disk, a read-only folder).

Each crawl is the real `archive crawl` in its own process group against a local site;
afterwards `archive verify` must find the store and the WARC files consistent, and no
process of the crawl may be left.
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sites import Fixed, LocalSite, Slow, html_page

from archive.config import SettingError, load_config
from settings import base
from settings.env import CHECKS, checked, overrides_from_env

ARCHIVE = str(Path(sys.executable).parent / "archive")
STOPPING = re.compile(r"^stopping: (\d+) requests in flight, (\d+) previews pending$")


def archive(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCHIVE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def processes() -> Iterator[tuple[int, list[str]]]:
    """Each process's pid and its state, parent and group (``/proc/PID/stat``)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so after ")"
            yield int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()[:3]


class Crawl:
    """`archive crawl` in its own process group, its stderr read line by line as it comes."""

    def __init__(self, *args: str) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [ARCHIVE, "crawl", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stdout = ""

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    @property
    def stderr(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def when(self, pattern: str, timeout: float = 60) -> float:
        """When a stderr line matching ``pattern`` came (waiting for it if need be)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, line in list(self.lines):
                if re.search(pattern, line):
                    return at
            assert self.proc.poll() is None, f"exited {self.proc.returncode}: {self.stderr}"
            time.sleep(0.02)
        raise AssertionError(f"no {pattern!r} on stderr in {timeout} s: {self.stderr}")

    def finish(self, timeout: float = 60) -> float:
        """Wait for the exit; when it came."""
        self.proc.wait(timeout=timeout)
        ended = time.monotonic()
        self._reader.join(timeout=5)
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout.read()
        return ended

    def others_left(self, timeout: float = 5) -> list[str]:
        """The processes the crawl started that outlive it (in its group, not yet dead:
        a zombie waiting for an init that does not reap it is gone)."""
        deadline = time.monotonic() + timeout
        while True:
            alive = []
            for pid, (state, _, group) in processes():
                if int(group) == self.proc.pid and state != "Z":
                    with contextlib.suppress(OSError):
                        alive.append(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " "))
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.05)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@contextlib.contextmanager
def crawling(*args: str) -> Iterator[Crawl]:
    crawl = Crawl(*args)
    try:
        yield crawl
    finally:
        crawl.kill()


def listing(tmp_path: Path, site: LocalSite, paths: list[str]) -> str:
    path = tmp_path / "list.txt"
    path.write_text("".join(site.url(p) + "\n" for p in paths))
    return str(path)


def rows(home: Path, query: str) -> list[tuple]:
    with sqlite3.connect(home / "archive.sqlite3") as db:
        return db.execute(query).fetchall()


def assert_verify_clean() -> None:
    verified = archive("verify", "--json")
    assert verified.returncode == 0, verified.stdout[-3000:]


# -- settings ------------------------------------------------------------------------

#: a bad value of each checked setting ("-1" unless it needs another kind of bad)
BAD = {
    "ARCHIVE_WARC_PREFIX": "../elsewhere",
    "ARCHIVE_CLOCK": "next tuesday",
    "ARCHIVE_REFRESH_DAYS_BY_TYPE": '{"paper": 0}',
    "ARCHIVE_FRONTIER_PREFIX": "../elsewhere",
    "ARCHIVE_WORKER_NAME": "two words",
}


def _default(name: str) -> object:
    """The value a crawl runs with when nothing sets ``name``."""
    import settings

    return getattr(base, name) if hasattr(base, name) else getattr(settings, name)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_checked_setting_takes_its_default_and_refuses_a_bad_value(name: str) -> None:
    checked(name, _default(name))
    with pytest.raises(SettingError, match=f"^-s {name}=.* is not valid: must be"):
        checked(name, BAD.get(name, "-1"), "-s ")
    if isinstance(_default(name), int | float):
        for word in ("nan", "inf", "lots"):
            with pytest.raises(SettingError, match=name):
                checked(name, word)


def test_the_environment_and_scrapy_settings_are_checked_alike() -> None:
    from scrapy.settings import Settings

    with pytest.raises(SettingError, match="^environment variable ARCHIVE_TIMEOUT='0' is"):
        overrides_from_env({"ARCHIVE_TIMEOUT": "0"})
    assert overrides_from_env({"ARCHIVE_MAX_BODY_SIZE": "2M"}) == {"ARCHIVE_MAX_BODY_SIZE": 2 << 20}
    # what `scrapy crawl -s NAME=VALUE` hands the crawl, as text
    with pytest.raises(SettingError, match="^setting ARCHIVE_CONCURRENCY_PER_HOST='0' is"):
        load_config(Settings({"ARCHIVE_CONCURRENCY_PER_HOST": "0"}))
    assert load_config(Settings({"ARCHIVE_TIMEOUT": "5"})).timeout == 5.0


@pytest.mark.parametrize(
    ("env", "args", "name"),
    [
        ({"ARCHIVE_CONCURRENCY_PER_HOST": "-3"}, (), "ARCHIVE_CONCURRENCY_PER_HOST"),
        ({"ARCHIVE_TIMEOUT": "abc"}, (), "ARCHIVE_TIMEOUT"),
        ({"ARCHIVE_EXTRACT_WORKERS": "-1"}, (), "ARCHIVE_EXTRACT_WORKERS"),
        ({}, ("-s", "DOWNLOAD_DELAY=-1"), "DOWNLOAD_DELAY"),
        ({}, ("--set=ARCHIVE_REQUISITES_MAX=-5",), "ARCHIVE_REQUISITES_MAX"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2_before_anything_starts(
    archive_home: Path, monkeypatch: pytest.MonkeyPatch, env: dict, args: tuple, name: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    started = time.monotonic()
    result = archive("crawl", "--url", "http://127.0.0.1:9/page", *args)
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and name in line and "is not valid: must be" in line
    assert elapsed < 2, elapsed
    assert list(archive_home.iterdir()) == []  # no store, no job row, no WARC folder


def test_bad_scrapy_settings_and_flags_are_refused_too(archive_home: Path) -> None:
    for args, name in [
        (("-s", "CONCURRENT_REQUESTS=many"), "CONCURRENT_REQUESTS"),
        (("-s", "DOWNLOAD_TIMEOUT=0"), "DOWNLOAD_TIMEOUT"),
        (("--limit", "0"), "--limit"),
    ]:
        result = archive("crawl", "--url", "http://127.0.0.1:9/page", *args)
        assert result.returncode == 2, result.stderr
        [line] = result.stderr.splitlines()
        assert name in line and "is not valid: must be" in line
    assert list(archive_home.iterdir()) == []


# -- signals -------------------------------------------------------------------------


def page(i: int) -> bytes:
    return html_page(f"Story {i}", f"Paragraph {i} of the story. " * 200).encode()


def fast_and_slow(site: LocalSite, fast: int, slow: int) -> tuple[list[str], list[str]]:
    """``fast`` pages answered at once and ``slow`` ones after 30 s: their paths."""
    fast_paths = [f"/fast/{i}" for i in range(fast)]
    slow_paths = [f"/slow/{i}" for i in range(slow)]
    for i, path in enumerate(fast_paths):
        site.set(path, Fixed(page(i)))
    for i, path in enumerate(slow_paths):
        site.set(path, Slow(Fixed(page(i)), 30))
    return fast_paths, slow_paths


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "group"),
    # `kill PID`; Ctrl-C, which reaches every process of the group; and a SIGTERM to the
    # whole group, as systemd, `timeout` and `docker stop` send it (the forkserver too)
    [(signal.SIGTERM, False), (signal.SIGINT, True), (signal.SIGTERM, True)],
    ids=["SIGTERM", "SIGINT-group", "SIGTERM-group"],
)
def test_a_signal_stops_the_crawl_in_seconds_and_keeps_what_it_recorded(
    site: LocalSite,
    archive_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signum: signal.Signals,
    group: bool,
) -> None:
    monkeypatch.setenv("ARCHIVE_CONCURRENCY_PER_HOST", "16")  # the slow ones hold no slot
    fast, slow = fast_and_slow(site, 3, 8)
    with crawling("--source", listing(tmp_path, site, fast + slow)) as crawl:
        crawl.when(r"\[3/11\] cap_")  # the fast pages are recorded, the slow ones in flight
        deadline = time.monotonic() + 30
        while not all(site.hits(p) == 1 for p in slow) and time.monotonic() < deadline:
            time.sleep(0.05)  # every slow one sent (on a busy machine, the last come later)
        sent = time.monotonic()
        if group:
            os.killpg(crawl.proc.pid, signum)
        else:
            crawl.proc.send_signal(signum)
        said = crawl.when("^stopping: ")
        ended = crawl.finish(timeout=30)
        assert crawl.proc.returncode == 1, crawl.stderr
        left = crawl.others_left()
        assert not left, left
    assert said - sent < 1, said - sent
    assert ended - sent < 10, ended - sent
    [line] = [line for _, line in crawl.lines if line.startswith("stopping")]
    in_flight = STOPPING.match(line)
    assert in_flight and int(in_flight[1]) >= 1, line
    assert "Traceback" not in crawl.stderr and "ERROR" not in crawl.stderr, crawl.stderr
    assert "error:" not in crawl.stderr, crawl.stderr  # the recorder, for one, did not die
    assert crawl.stdout.startswith("job 1: stopped; http_2xx 3"), crawl.stdout
    name = signal.Signals(signum).name
    assert rows(archive_home, "select status, message from jobs") == [
        ("stopped", f"stopped by {name}")
    ]
    recorded = {url for (url,) in rows(archive_home, "select requested_url from captures")}
    assert recorded == {site.url(p) for p in fast}  # a fetch cut short is not a capture
    assert all(site.hits(p) == 1 for p in slow)
    assert_verify_clean()


def heavy_page(i: int) -> bytes:
    """A page of 4.5 MB whose extraction takes seconds (40,000 blocks of text and links)."""
    blocks = "".join(
        f"<div><p>Paragraph {j} of long page {i}, with words enough to count as text.</p>"
        f"<a href=/x{j}>link {j}</a></div>"
        for j in range(40_000)
    )
    return f"<html><head><title>Long {i}</title></head><body>{blocks}</body></html>".encode()


@pytest.mark.slow
def test_a_sigterm_to_the_whole_group_leaves_the_pages_being_extracted_pending(
    site: LocalSite, archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd and `docker stop` signal every process: the extraction worker dies with the
    crawl, and its page is recorded without a preview, for `archive extract --pending`,
    not as a page that killed its worker."""
    monkeypatch.setenv("ARCHIVE_EXTRACT_WORKERS", "1")
    paths = ["/long/0", "/long/1"]
    for i, path in enumerate(paths):
        site.set(path, Fixed(heavy_page(i)))
    with crawling("--source", listing(tmp_path, site, paths)) as crawl:
        deadline = time.monotonic() + 30
        while not all(site.hits(p) for p in paths) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # both downloaded: one is being extracted, the other waits
        os.killpg(crawl.proc.pid, signal.SIGTERM)
        crawl.when("^stopping: ")
        crawl.finish(timeout=30)
        assert crawl.proc.returncode == 1, crawl.stderr
    [line] = [line for _, line in crawl.lines if line.startswith("stopping")]
    said = STOPPING.match(line)
    assert said and int(said[2]) >= 1, line
    assert "died" not in crawl.stderr and "Traceback" not in crawl.stderr, crawl.stderr
    assert rows(archive_home, "select status from jobs") == [("stopped",)]
    assert rows(archive_home, "select count(*) from captures") == [(2,)]
    pending = rows(archive_home, "select count(*) from captures where extractor is null")
    assert pending == [(int(said[2]),)]  # no "worker died" preview
    made = archive("extract", "--pending", "--json")
    assert made.returncode == 0, made.stderr
    assert f'"previews": {said[2]}' in made.stdout, made.stdout
    assert_verify_clean()


@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once_and_the_jobdir_resumes(
    site: LocalSite, archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_CONCURRENCY_PER_HOST", "4")
    paths = [f"/slow/{i}" for i in range(12)]
    for i, path in enumerate(paths):
        site.set(path, Slow(Fixed(page(i)), 30))
    source = listing(tmp_path, site, paths)
    jobdir = str(tmp_path / "job")
    with crawling("--source", source, "--jobdir", jobdir) as crawl:
        deadline = time.monotonic() + 60
        while sum(map(site.hits, paths)) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(crawl.proc.pid, signal.SIGINT)
        crawl.when("^stopping: ")  # with a JOBDIR, a pause: what was sent may finish
        sent = time.monotonic()
        os.killpg(crawl.proc.pid, signal.SIGINT)
        ended = crawl.finish(timeout=30)
        assert crawl.proc.returncode == 1, crawl.stderr
        left = crawl.others_left()
        assert not left, left
    assert ended - sent < 3, ended - sent
    assert "stopping at once: " in crawl.stderr and "Traceback" not in crawl.stderr
    assert rows(archive_home, "select status, message from jobs") == [
        ("stopped", "stopped at once by a second SIGINT")
    ]
    assert_verify_clean()  # the WARC file was closed, no row lacks its records

    for i, path in enumerate(paths):  # the site answers at once now: resume
        site.set(path, Fixed(page(i)))
    resumed = archive("crawl", "--jobdir", jobdir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    urls = [url for (url,) in rows(archive_home, "select requested_url from captures")]
    assert sorted(urls) == sorted(site.url(p) for p in paths)  # none lost, none twice
    assert_verify_clean()


# -- WARC files that cannot be written -------------------------------------------------


def incompressible_page(i: int, size: int = 100_000) -> bytes:
    text = base64.b64encode(random.Random(i).randbytes(size * 3 // 4)).decode()
    return html_page(f"Data {i}", text).encode()


def mount(*args: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system for the WARC folder needs root")
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"mount is not permitted here: {done.stderr.strip()}")


@contextlib.contextmanager
def warc_folder(home: Path, how: str) -> Iterator[None]:
    """``home/warcs`` on a 2 MB file system (``full``) or one that cannot be written."""
    warcs = home / "warcs"
    warcs.mkdir()
    if how == "full":
        mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(warcs))
    elif os.geteuid() == 0:  # root writes whatever the mode says
        mount("-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(warcs))
    else:
        warcs.chmod(0o555)
    try:
        yield
    finally:
        if os.path.ismount(warcs):
            subprocess.run(["umount", "-l", str(warcs)], check=False)
        warcs.chmod(0o755)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "why"),
    [("full", "No space left on device"), ("read-only", "Read-only file system|Permission")],
)
def test_a_warc_write_that_fails_stops_the_crawl_with_one_message(
    site: LocalSite,
    archive_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    why: str,
) -> None:
    monkeypatch.setenv("ARCHIVE_CONCURRENCY_PER_HOST", "4")
    paths = [f"/data/{i}" for i in range(40)]  # 3 MB of WARC records at least
    for i, path in enumerate(paths):
        site.set(path, Fixed(incompressible_page(i)))
    with warc_folder(archive_home, how):
        with crawling("--source", listing(tmp_path, site, paths)) as crawl:
            failed = crawl.when("cannot write WARC file")
            ended = crawl.finish(timeout=60)
            assert crawl.proc.returncode == 1, crawl.stderr
            left = crawl.others_left()
            assert not left, left
        assert ended - failed < 1, ended - failed
        said = [line for _, line in crawl.lines if " INFO: " not in line]
        assert len(said) == 1, crawl.stderr
        assert re.match(rf"^error: cannot write WARC file /\S+: ({why})$", said[0]), said
        assert crawl.stdout.startswith("job 1: failed;"), crawl.stdout
        [(status, message)] = rows(archive_home, "select status, message from jobs")
        assert status == "failed" and message == said[0].removeprefix("error: ")
        assert len(rows(archive_home, "select 1 from captures")) < len(paths)
        assert_verify_clean()  # every row's records are on disk; no file is torn


@pytest.mark.slow
def test_a_crawl_killed_outright_keeps_every_capture_it_wrote(
    site: LocalSite, archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL gives the crawl no chance to close anything: the recorder sees the end of
    its pipe, commits the rows of the captures whose records it wrote, and closes its WARC
    file, so that every row has its records and `archive verify` is clean."""
    monkeypatch.setenv("ARCHIVE_CONCURRENCY_PER_HOST", "16")
    fast, slow = fast_and_slow(site, 30, 4)
    with crawling("--source", listing(tmp_path, site, fast + slow)) as crawl:
        crawl.when(r"\[30/34\] cap_")
        crawl.proc.kill()  # the crawl's own process only: its recorder is left to itself
        crawl.finish(timeout=10)
        left = crawl.others_left(timeout=10)
        assert not left, left
    captured = {url for (url,) in rows(archive_home, "select requested_url from captures")}
    assert captured == {site.url(p) for p in fast}
    assert_verify_clean()


def _children(parent: int) -> list[int]:
    return [pid for pid, (_, ppid, _) in processes() if int(ppid) == parent]


def _recorder_of(crawl: Crawl) -> int:
    """The recorder's pid: with previews deferred, the one process the forkserver forked."""
    for child in _children(crawl.proc.pid):
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"multiprocessing.forkserver" in cmdline:
            [recorder] = _children(child)
            return recorder
    raise AssertionError("no forkserver among the crawl's processes")


@pytest.mark.slow
def test_a_recorder_killed_outright_stops_the_crawl_and_its_job_says_why(
    site: LocalSite, archive_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorder killed (the out-of-memory killer's SIGKILL): nothing more is recorded,
    the crawl stops at once with one message, and its job row says what happened."""
    monkeypatch.setenv("ARCHIVE_CONCURRENCY_PER_HOST", "16")
    fast, slow = fast_and_slow(site, 5, 4)
    with crawling("--source", listing(tmp_path, site, fast + slow), "--defer-previews") as crawl:
        crawl.when(r"\[5/9\] cap_")
        killed = time.monotonic()
        os.kill(_recorder_of(crawl), signal.SIGKILL)
        ended = crawl.finish(timeout=30)
        assert crawl.proc.returncode == 1, crawl.stderr
        assert not crawl.others_left(), crawl.stderr
    assert ended - killed < 10, ended - killed
    assert "the recorder process died (exit -9)" in crawl.stderr, crawl.stderr
    assert "Traceback" not in crawl.stderr, crawl.stderr
    [(status, message)] = rows(archive_home, "select status, message from jobs")
    assert status == "failed" and "the recorder process died (exit -9)" in message, message
    assert len(rows(archive_home, "select 1 from captures")) == len(fast)
