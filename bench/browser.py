"""The cost of a browser capture: local pages that write their text with script.

Each page fetches a text file with ``fetch`` and writes it into the page, and shows three
images; all are served on 127.0.0.1 (nginx when installed, else the tests' LocalSite).
The same pages are crawled twice, each time into an empty archive: by the HTTP path
(``archive crawl``, no fallback) and with ``archive crawl --browser``. Prints each run's
seconds and the browser's cost per page (its run less the HTTP run, over the pages; the
browser's launch included), against the target of 5 s a page.

    .venv/bin/python bench/browser.py [--pages 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import serve  # noqa: E402

ARCHIVE = str(Path(sys.executable).parent / "archive")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000
TARGET = 5.0


def page(n: int) -> bytes:
    images = "".join(f'<img src="/img-{n}-{k}.png" width="40" height="40">' for k in range(3))
    return f"""<!DOCTYPE html><html><head><title>Page {n}</title></head><body>
<main id="root"><p>JavaScript has not run.</p></main>{images}
<script>fetch('/data-{n}.txt').then(r => r.text()).then(t => {{
  document.getElementById('root').innerHTML =
    '<article><h1>Page {n}</h1><p>' + t + '</p></article>';
}});</script></body></html>""".encode()


def files(pages: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for n in range(pages):
        out[f"/page-{n}.html"] = page(n)
        out[f"/data-{n}.txt"] = f"Page {n} was written by its script. ".encode() * 20
        for k in range(3):
            out[f"/img-{n}-{k}.png"] = PNG
    return out


def crawl(listing: Path, *args: str) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "ARCHIVE_HOME": home,
            "ARCHIVE_ALLOW_PRIVATE": "1",
            "ARCHIVE_DOWNLOAD_DELAY": "0",
            "ARCHIVE_BROWSER_FALLBACK": "0",
        }
        started = time.perf_counter()
        result = subprocess.run(
            [ARCHIVE, "crawl", "--source", str(listing), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"archive crawl {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    with serve(files(args.pages)) as (base, server), tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "list.txt"
        listing.write_text("".join(f"{base}/page-{n}.html\n" for n in range(args.pages)))
        print(f"{args.pages} pages from {server}")
        http = crawl(listing)
        browser = crawl(listing, "--browser")
    per_page = (browser - http) / args.pages
    print(f"archive crawl (HTTP):      {http:6.2f} s ({http / args.pages:.2f} s a page)")
    print(f"archive crawl --browser:   {browser:6.2f} s ({browser / args.pages:.2f} s a page)")
    print(f"browser capture, a page:   {per_page:6.2f} s more than HTTP (launch included)")
    verdict = "PASS" if browser / args.pages < TARGET else "FAIL"
    print(f"{verdict}: a browser capture costs < {TARGET:.0f} s a page")


if __name__ == "__main__":
    main()
