"""The runs bench/crawl.py times: plain Scrapy, `archive crawl` and `wget --warc-file`, all
given the same URL list, and what their WARC files hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Container
from pathlib import Path

from tree import Run, run
from warcio.archiveiterator import ArchiveIterator

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CONCURRENCY = 16
PER_HOST = 8
#: Scrapy settings both Scrapy runs get; ours derives the rest from its ARCHIVE_* variables.
SAME = {
    "CONCURRENT_REQUESTS": CONCURRENCY,
    "AUTOTHROTTLE_ENABLED": 0,
    "LOG_LEVEL": "WARNING",
}


def _sets(values: dict[str, object]) -> list[str]:
    return [arg for name, value in values.items() for arg in ("-s", f"{name}={value}")]


def plain_scrapy(listing: Path, work: Path) -> Run:
    """A minimal spider that counts the bodies, with Scrapy's defaults otherwise."""
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    settings = {
        **SAME,
        "CONCURRENT_REQUESTS_PER_DOMAIN": PER_HOST,
        "DOWNLOAD_DELAY": 0,
        "ROBOTSTXT_OBEY": 1,
        "TELNETCONSOLE_ENABLED": 0,
    }
    cmd = [str(BIN / "scrapy"), "runspider", str(HERE / "plain_spider.py"), "-a"]
    done = run([*cmd, f"urls={listing}", *_sets(settings)], env, work)  # no scrapy.cfg in work
    print(f"  {done.stdout.strip()}")
    return done


def defer_flag() -> bool:
    """Whether this checkout's `archive crawl` has --defer-previews."""
    usage = subprocess.run([BIN / "archive", "crawl", "--help"], capture_output=True, text=True)
    return "--defer-previews" in usage.stdout


def ours(home: Path, work: Path, *args: str, requisites: bool = False, defer: bool = False) -> Run:
    """`archive crawl ARGS` on the store in ``home``; exits if the job did not finish."""
    env = {
        **os.environ,
        "ARCHIVE_HOME": str(home),
        "ARCHIVE_ALLOW_PRIVATE": "1",
        "ARCHIVE_DOWNLOAD_DELAY": "0",
        "ARCHIVE_CONCURRENCY_PER_HOST": str(PER_HOST),
        "ARCHIVE_REQUISITES": "1" if requisites else "0",
        # the same work as its peers: no page is rendered again in a browser
        "ARCHIVE_BROWSER_FALLBACK": "0",
    }
    cmd = [str(BIN / "archive"), "crawl", *args, "--json", *(["--defer-previews"] * defer)]
    done = run([*cmd, *_sets(SAME)], env, work)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    if summary["status"] != "finished":
        sys.exit(f"archive crawl: {summary}")
    return done


def wget(listing: Path, work: Path, *options: str) -> Run:
    """``wget --warc-file`` over the list in ``work`` (its WARC is ``work/peer.warc.gz``)."""
    work.mkdir()
    cmd = ["wget", "-q", "--warc-file=peer", "--no-warc-keep-log", "-i", str(listing), *options]
    return run(cmd, dict(os.environ), work, ok=(0, 8))  # 8: some answer was an HTTP error


def warc_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.warc.gz"))


def responses(folder: Path, besides: Container[str]) -> int:
    """Response and revisit records in ``folder``'s WARCs whose URL is not in ``besides``
    nor a robots.txt: the requisites the tool fetched."""
    count = 0
    for path in folder.rglob("*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                if record.rec_type in ("response", "revisit") and not (
                    url in besides or url.endswith("/robots.txt")
                ):
                    count += 1
    return count
