"""Crawl throughput and WARC size: `archive crawl` against `wget --warc-file`, same local site.

    .venv/bin/python bench/crawl.py [--pages 200] [--pages-from real|synthetic] [--size 60000]

Serves N pages on 127.0.0.1, then archives them with both tools (no delay, robots.txt obeyed
by both), and a second time with ours to show what revisit records save. Prints pages/s,
WARC bytes, and the ratios ours / wget. Ours does more per page (preview extraction, a
metadata record, the store), so the ratio says what that costs.

The pages are real ones by default: the first N of the WCXB set's HTML in
``../shared/data/extraction/wcxb-dev`` (articles, shops, forums, as crawled in 2025).
``--pages-from synthetic`` serves generated news-sized pages of random words instead, whose
text hardly compresses: the worst case for the metadata record's copy of the preview.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_PAGES = ROOT.parent / "shared" / "data" / "extraction" / "wcxb-dev" / "html"
sys.path.insert(0, str(ROOT / "tests"))
from sites import Fixed, LocalSite  # noqa: E402
from test_crawl import realistic_page  # noqa: E402


def warc_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.warc.gz"))


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 8):  # wget exits 8 when some page answered an error
        sys.exit(f"{cmd[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--pages-from", choices=["real", "synthetic"], default="real")
    parser.add_argument("--size", type=int, default=60_000, help="synthetic: characters a page")
    args = parser.parse_args()
    if not shutil.which("wget"):
        sys.exit("wget is not installed (apt-get install wget)")
    if args.pages_from == "real":
        files = sorted(REAL_PAGES.glob("*.html.gz"))[: args.pages]
        if not files:
            sys.exit(f"no pages in {REAL_PAGES}; use --pages-from synthetic")
        routes = {
            f"/page/{path.name.split('.')[0]}": Fixed(gzip.decompress(path.read_bytes()))
            for path in files
        }
    else:
        routes = {f"/story/{i}": Fixed(realistic_page(i, args.size)) for i in range(args.pages)}
    with LocalSite(routes) as site, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        listing = work / "list.txt"
        listing.write_text("".join(site.url(p) + "\n" for p in routes))
        env = {
            **os.environ,
            "ARCHIVE_HOME": str(work / "ours"),
            "ARCHIVE_ALLOW_PRIVATE": "1",
            "ARCHIVE_DOWNLOAD_DELAY": "0",
            "ARCHIVE_CONCURRENCY_PER_HOST": "8",
            # The peer is `wget --warc-file` without --page-requisites; and the real pages'
            # requisites are on the internet, not on the local site.
            "ARCHIVE_REQUISITES": "0",
        }
        archive = str(Path(sys.executable).parent / "archive")
        fast = ["-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=WARNING"]
        ours = timed([archive, "crawl", "--source", str(listing), *fast], env, work)
        ours_bytes = warc_bytes(work / "ours" / "warcs")
        again = timed([archive, "crawl", "--all", *fast], env, work)
        again_bytes = warc_bytes(work / "ours" / "warcs") - ours_bytes
        (work / "wget").mkdir()
        wget = timed(
            [
                "wget",
                "-q",
                "--warc-file=peer",
                "--no-warc-keep-log",
                "-i",
                str(listing),
                "-O",
                "/dev/null",
            ],
            env,
            work / "wget",
        )
        wget_bytes = warc_bytes(work / "wget")
    n = len(routes)
    size = sum(len(route.body) for route in routes.values()) // n // 1000
    print(f"{n} {args.pages_from} pages of {size} KB on average, served on 127.0.0.1")
    print(f"{'tool':24} {'seconds':>8} {'pages/s':>8} {'WARC bytes':>12}")
    print(f"{'archive crawl':24} {ours:8.2f} {n / ours:8.1f} {ours_bytes:12,}")
    print(f"{'archive crawl (again)':24} {again:8.2f} {n / again:8.1f} {again_bytes:12,}")
    print(f"{'wget --warc-file':24} {wget:8.2f} {n / wget:8.1f} {wget_bytes:12,}")
    print(f"ratio ours/wget: time {ours / wget:.2f}x, WARC bytes {ours_bytes / wget_bytes:.2f}x")
    print(f"second crawl adds {again_bytes / ours_bytes:.1%} of the first crawl's WARC bytes")


if __name__ == "__main__":
    main()
