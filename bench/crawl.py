"""Crawl throughput, memory and WARC size: `archive crawl` against plain Scrapy and
`wget --warc-file`, same pages, same local server, in one run.

    .venv/bin/python bench/crawl.py [--pages 500] [--repeat 3] [--pages-from real|synthetic]
    .venv/bin/python bench/crawl.py --requisites [--pages 500]

Serves N pages from nginx on 127.0.0.1 (the tests' LocalSite when nginx is missing), then
fetches them with plain Scrapy (a spider that only counts the bodies, same concurrency),
`archive crawl --defer-previews` (captures and WARC records, previews left for later),
`archive crawl` to the last preview, the same again unchanged (revisits) and wget, in
``--repeat`` rounds (3), the tools taking turns in each: a machine whose speed drifts (a
shared host's) slows them alike, and each row is the tool's median round; the deferred
capture's verdict is the median of the rounds' own ratios (each pair ran side by side). No delay,
robots.txt obeyed. Prints each run's pages/s, WARC bytes and the peak RSS of its whole process
tree, the ratios, and the targets as PASS/FAIL lines: previews deferred >= 0.85x plain
Scrapy; the crawl to the last preview >= 0.8x the extraction bound (cores / mean seconds of
``extract_preview`` a page, timed in this process over the same pages); peak RSS < 1 GB.

``--requisites`` serves the same pages with their requisites on the local server instead
(see bench/requisites.py) and reports what they add, for ours and for wget with
``--page-requisites``: requisites fetched per page, WARC bytes and seconds.

The pages are real ones by default: the first N of the WCXB set's HTML in
``../shared/data/extraction/wcxb-dev`` (articles, shops, forums, as crawled in 2025).
``--pages-from synthetic`` serves generated news-sized pages of random words instead, whose
text hardly compresses: the worst case for the metadata record's copy of the preview.
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_PAGES = ROOT.parent / "shared" / "data" / "extraction" / "wcxb-dev" / "html"
sys.path.insert(0, str(ROOT / "tests"))
import peers  # noqa: E402
from requisites import with_local_requisites  # noqa: E402
from server import serve  # noqa: E402
from test_crawl import realistic_page  # noqa: E402
from tree import Run  # noqa: E402

ROBOTS = {"/robots.txt": b"User-agent: *\nDisallow:\n"}
MB = 1024 * 1024
SETTINGS = (
    f"{peers.CONCURRENCY} requests at once, {peers.PER_HOST} a host, no delay, robots.txt obeyed"
)


def load_pages(args: argparse.Namespace) -> dict[str, bytes]:
    if args.pages_from == "synthetic":
        return {f"/page/{i}.html": realistic_page(i, args.size) for i in range(args.pages)}
    files = sorted(REAL_PAGES.glob("*.html.gz"))[: args.pages]
    if not files:
        sys.exit(f"no pages in {REAL_PAGES}; use --pages-from synthetic")
    return {f"/page/{p.name.split('.')[0]}.html": gzip.decompress(p.read_bytes()) for p in files}


def extraction_seconds(pages: dict[str, bytes]) -> float:
    """Mean seconds of ``extract_preview`` a page, one pass after an untimed first page."""
    from archive.capture.preview import extract_preview

    first = next(iter(pages.items()))
    extract_preview(first[1], "text/html", "http://127.0.0.1" + first[0])  # imports, untimed
    total = 0.0
    for path, body in pages.items():
        started = time.perf_counter()
        extract_preview(body, "text/html", "http://127.0.0.1" + path)
        total += time.perf_counter() - started
    return total / len(pages)


def header(last: str) -> None:
    print(f"{'run':38} {'seconds':>8} {'pages/s':>8} {'WARC bytes':>13} {'peak RSS':>9} {last:>10}")


def row(name: str, done: Run | None, n: int, warc: int | None, last: str = "") -> None:
    if done is None:
        print(f"{name:38} {'skipped':>8}")
        return
    rss = f"{done.peak_rss / MB:.0f} MB"
    warc_text = "-" if warc is None else f"{warc:,}"
    print(
        f"{name:38} {done.seconds:8.2f} {n / done.seconds:8.1f} {warc_text:>13} {rss:>9} {last:>10}"
    )


def verdict(ok: bool, text: str) -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {text}")


@dataclass
class Round:
    """One round of the runs, each tool after the other (a machine whose speed drifts
    slows them alike), and the WARC bytes each wrote."""

    plain: Run
    deferred: Run | None
    full: Run
    again: Run
    wget: Run
    bytes: dict[str, int]


def one_round(listing: Path, work: Path, defer: bool) -> Round:
    work.mkdir()
    source = ["--source", str(listing)]
    plain = peers.plain_scrapy(listing, work)
    deferred = peers.ours(work / "deferred", work, *source, defer=True) if defer else None
    full = peers.ours(work / "ours", work, *source)
    full_bytes = peers.warc_bytes(work / "ours")
    again = peers.ours(work / "ours", work, "--all")
    again_bytes = peers.warc_bytes(work / "ours") - full_bytes
    wget = peers.wget(listing, work / "wget", "-O", "/dev/null")
    warc = {"deferred": peers.warc_bytes(work / "deferred"), "full": full_bytes}
    warc |= {"again": again_bytes, "wget": peers.warc_bytes(work / "wget")}
    return Round(plain, deferred, full, again, wget, warc)


def median_run(runs: list[Run]) -> Run:
    """The run of median time (the upper of the two middle ones for an even count)."""
    return sorted(runs, key=lambda done: done.seconds)[len(runs) // 2]


def capture_mode(
    pages: dict[str, bytes], listing: Path, work: Path, server: str, repeat: int
) -> None:
    n = len(pages)
    per_page = extraction_seconds(pages)
    cores = os.cpu_count() or 1
    bound = cores / per_page
    defer = peers.defer_flag()
    if not defer:
        print("note: `archive crawl --help` lists no --defer-previews yet; that row is skipped")
    rounds = [one_round(listing, work / f"round-{k}", defer) for k in range(repeat)]

    def median(tool: str) -> Run | None:
        runs = [getattr(r, tool) for r in rounds]
        return None if runs[0] is None else median_run(runs)

    plain, deferred, full, again, wget = (
        median(tool) for tool in ("plain", "deferred", "full", "again", "wget")
    )
    assert plain and full and again and wget
    warc = rounds[0].bytes
    size = sum(map(len, pages.values())) // n // 1000
    print(f"\n{n} pages, {size} KB on average, served by {server} on 127.0.0.1")
    print(f"{SETTINGS}; no requisites (wget without -p)")
    if repeat > 1:
        print(f"each row: the median of {repeat} rounds, the tools taking turns in each")
        for tool in ("plain", "deferred", "full", "wget"):
            times = [getattr(r, tool).seconds for r in rounds if getattr(r, tool)]
            print(f"  {tool:9} seconds: {', '.join(f'{t:.2f}' for t in times)}")
    print()
    header("x Scrapy")
    runs = [
        ("plain Scrapy", plain, None),
        ("archive crawl --defer-previews", deferred, warc["deferred"]),
        ("archive crawl (to the last preview)", full, warc["full"]),
        ("archive crawl --all (unchanged)", again, warc["again"]),
        ("wget --warc-file", wget, warc["wget"]),
    ]
    for name, done, warc_bytes in runs:
        row(name, done, n, warc_bytes, f"{plain.seconds / done.seconds:.2f}" if done else "")
    cost = f"{cores} cores / {per_page * 1000:.1f} ms a page of extract_preview"
    print(f"{'extraction bound':38} {'':8} {bound:8.1f}  ({cost})")
    ratios = (
        f"time {full.seconds / wget.seconds:.2f}x, WARC bytes {warc['full'] / warc['wget']:.2f}x"
    )
    print(f"ours (to the last preview) / wget: {ratios}")
    added = warc["again"] / warc["full"]
    print(f"the unchanged recrawl adds {added:.1%} of the first one's WARC bytes\n")

    if deferred is None:
        print("SKIP  capture with previews deferred >= 0.85x plain Scrapy: no --defer-previews")
    else:
        # within a round the two ran side by side: the ratio of each round, then its median
        paired = sorted(r.plain.seconds / r.deferred.seconds for r in rounds if r.deferred)
        ratio = paired[len(paired) // 2]
        each = ", ".join(f"{x:.2f}" for x in paired)
        text = f"capture, previews deferred: {ratio:.2f}x plain Scrapy (>= 0.85x)"
        verdict(ratio >= 0.85, text + (f"; the rounds' ratios {each}" if repeat > 1 else ""))
    ratio = n / full.seconds / bound
    verdict(ratio >= 0.8, f"crawl to the last preview: {ratio:.2f}x the extraction bound (>= 0.8x)")
    peak = max(r.peak_rss for k in rounds for r in (k.deferred, k.full, k.again) if r)
    verdict(peak < 1024 * MB, f"peak RSS of ours' process tree: {peak / MB:.0f} MB (< 1024 MB)")


def requisites_mode(loads: dict[str, list[str]], listing: Path, work: Path, server: str) -> None:
    n = len(loads)
    pages = set(listing.read_text().split())
    defer = peers.defer_flag()
    ours_name = "archive crawl" + (" --defer-previews" if defer else "")
    on = peers.ours(work / "on", work, "--source", str(listing), requisites=True, defer=defer)
    off = peers.ours(work / "off", work, "--source", str(listing), defer=defer)
    options = ["-e", "robots=on", "-nd", "-P", "files"]
    wget_on = peers.wget(listing, work / "wget-p", "--page-requisites", *options)
    wget_off = peers.wget(listing, work / "wget", *options)
    folders = {"on": work / "on", "off": work / "off"}
    folders |= {"wget_on": work / "wget-p", "wget_off": work / "wget"}
    fetched = {key: peers.responses(folder, pages) for key, folder in folders.items()}
    size = {key: peers.warc_bytes(folder) for key, folder in folders.items()}

    each = sum(map(len, loads.values())) / n
    distinct = len(set().union(*loads.values()))
    print(f"\n{n} pages with local requisites ({each:.1f} a page, {distinct:,} distinct)", end="")
    print(f", served by {server} on 127.0.0.1\n{SETTINGS}\n")
    header("requisites")
    row(f"{ours_name}, requisites on", on, n, size["on"], f"{fetched['on']:,}")
    row(f"{ours_name}, requisites off", off, n, size["off"], f"{fetched['off']:,}")
    row("wget --page-requisites", wget_on, n, size["wget_on"], f"{fetched['wget_on']:,}")
    row("wget (no -p)", wget_off, n, size["wget_off"], f"{fetched['wget_off']:,}")
    print(f"\n{'what the requisites add':38} {'ours':>12} {'wget -p':>12}")
    per_page = [fetched["on"] / n, fetched["wget_on"] / n]
    print(f"{'requisites fetched per page':38} {per_page[0]:12.2f} {per_page[1]:12.2f}")
    added = [(size["on"] - size["off"]) / MB, (size["wget_on"] - size["wget_off"]) / MB]
    print(f"{'WARC MB (with minus without)':38} {added[0]:12.1f} {added[1]:12.1f}")
    seconds = [on.seconds - off.seconds, wget_on.seconds - wget_off.seconds]
    print(f"{'seconds (with minus without)':38} {seconds[0]:12.2f} {seconds[1]:12.2f}")
    print(f"{'ms a page':38} {seconds[0] * 1000 / n:12.1f} {seconds[1] * 1000 / n:12.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--pages-from", choices=["real", "synthetic"], default="real")
    parser.add_argument("--size", type=int, default=60_000, help="synthetic: characters a page")
    parser.add_argument("--requisites", action="store_true", help="pages with local requisites")
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of the runs; each row is their median"
    )
    args = parser.parse_args()
    if not shutil.which("wget"):
        sys.exit("wget is not installed (apt-get install wget)")
    # Scrapy's modules are compiled (pip did it); ours, installed editable, are compiled
    # on every run where PYTHONDONTWRITEBYTECODE is set: timed as installed, like Scrapy.
    for package in ("archive", "crawler", "settings"):
        compileall.compile_dir(ROOT / package, quiet=1)
    pages = load_pages(args)
    files, loads = with_local_requisites(pages) if args.requisites else (pages, {})
    with serve({**files, **ROBOTS}) as (base, server), tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "list.txt"
        listing.write_text("".join(f"{base}{path}\n" for path in pages))
        if args.requisites:
            requisites_mode(loads, listing, Path(tmp), server)
        else:
            capture_mode(pages, listing, Path(tmp), server, max(1, args.repeat))


if __name__ == "__main__":
    main()
