"""``crawl`` and ``extract``: fetching resources into WARCs, and previews of local files."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from archive.cli.context import Context, pass_ctx
from archive.cli.frontier import (
    FRONTIER_OPTION,
    frontier_config,
    shared_crawl_config,
    show_status,
)
from archive.config import Config, SettingError

if TYPE_CHECKING:  # the command imports it only when it runs
    from archive.crawl import CrawlResult


@click.command()
@click.option(
    "--source",
    type=click.Path(exists=True, dir_okay=False),
    help="Import this list, then crawl it.",
)
@click.option("--ids", help="Crawl these resources (ids, sid_… or URLs, comma-separated).")
@click.option("--url", help="Crawl this one URL (imported first if new).")
@click.option("--due", "mode", flag_value="due", default=True, help="Crawl what is due (default).")
@click.option("--all", "mode", flag_value="all", help="Crawl every resource, due or not.")
@click.option("--limit", type=int, help="At most this many resources.")
@click.option("--type", "type_", help="Only resources of this type.")
@click.option("--host", help="Only resources on this host.")
@click.option(
    "--allow-private", is_flag=True, help="Allow loopback/private addresses (tests, intranets)."
)
@click.option(
    "--ignore-robots", is_flag=True, help="Do not obey robots.txt (recorded in warcinfo)."
)
@click.option(
    "--no-requisites",
    is_flag=True,
    help="Fetch only the pages, not what they load (stylesheets, images, fonts...).",
)
@click.option(
    "--browser",
    is_flag=True,
    help="Capture every page with headless Chromium: its scripts run, a screenshot is kept.",
)
@click.option(
    "--defer-previews",
    is_flag=True,
    help="Record captures now, extract their previews later (archive extract --pending).",
)
@click.option(
    "--jobdir", type=click.Path(file_okay=False), help="Scrapy JOBDIR: pause/resume state."
)
@click.option("--wait", is_flag=True, help="If another crawl runs, wait for it instead of exiting.")
@FRONTIER_OPTION
@click.option("--status", is_flag=True, help="With --frontier: show the shared crawl's state.")
@click.option(
    "-s", "--set", "sets", multiple=True, metavar="NAME=VALUE", help="Any Scrapy setting."
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Also log Scrapy's start-up, components and statistics."
)
@click.option("--json", "as_json", is_flag=True, help="Print the job's summary as JSON.")
@pass_ctx
def crawl(
    ctx: Context,
    source: str | None,
    ids: str | None,
    url: str | None,
    mode: str,
    limit: int | None,
    type_: str | None,
    host: str | None,
    allow_private: bool,
    ignore_robots: bool,
    no_requisites: bool,
    browser: bool,
    defer_previews: bool,
    jobdir: str | None,
    wait: bool,
    frontier_url: str | None,
    status: bool,
    sets: tuple[str, ...],
    verbose: bool,
    as_json: bool,
) -> None:
    """Fetch resources into WARC files, extract previews, update link states.

    Exits 0 when the run completed (dead links are data, not failure), 1 when the
    run itself failed or was stopped (SIGTERM, Ctrl-C), 2 for a bad setting, 75 when
    another crawl holds the store and --wait was not given.

    With --frontier (or ARCHIVE_FRONTIER_URL) this process is one worker of a crawl shared
    on Redis: the first worker queues what is due, every worker takes its part."""
    from archive.crawl import run_crawl, warm_up
    from archive.store.locks import Busy, crawl_lock, lock_store

    if status:
        return show_status(frontier_config(ctx.config, frontier_url), as_json)
    warm_up(previews=not (defer_previews or ctx.config.defer_previews))  # while Scrapy loads
    # Every value is checked before the store opens, the reactor starts or a job row exists.
    config, overrides = _run_options(ctx.config, allow_private, ignore_robots, sets, jobdir)
    config, worker = _worker_config(config, frontier_url)
    if limit is not None and limit < 1:
        raise SettingError(f"--limit {limit} is not valid: must be 1 or more")
    config = config.with_(
        requisites=config.requisites and not no_requisites,
        defer_previews=config.defer_previews or defer_previews,
    )
    overrides |= {"ARCHIVE_BROWSER": True} if browser else {}
    everything = "1" if mode == "all" else None
    args = dict(source=source, ids=ids, url=url, all=everything, limit=limit, type=type_, host=host)
    ctx.config = config
    try:  # the recorder opens the store; this process, only a PostgreSQL one's lock
        with crawl_lock(config.home, wait=wait, store=lock_store(config), worker=worker):
            result = run_crawl(config, args, overrides, verbose=verbose)
    except Busy as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(75)  # EX_TEMPFAIL: cron may simply try again later
    _summarise(result, as_json)
    if not result.ok:
        if not result.stopped:  # a stop has said why on stderr as it happened
            click.echo(f"error: the crawl failed: {result.message}", err=True)
        sys.exit(1)


def _worker_config(config: Config, frontier_url: str | None) -> tuple[Config, str | None]:
    """The config of one worker of a shared crawl, its frontier reachable and its store
    PostgreSQL (a one-line SettingError else), and the worker's name; as it is, and None,
    for a single-machine crawl."""
    from archive.frontier.state import connect

    if frontier_url is None and not config.frontier_url:
        return config, None
    config = shared_crawl_config(config, frontier_url)
    connect(config.frontier_url).close()
    return config, config.worker


def _run_options(
    config: Config,
    allow_private: bool,
    ignore_robots: bool,
    sets: tuple[str, ...],
    jobdir: str | None,
) -> tuple[Config, dict[str, Any]]:
    """The run's flags as the crawl reads them: the config's, and Scrapy setting overrides
    (checked: a bad one raises :class:`SettingError`)."""
    from archive.crawl import check_overrides

    if allow_private:
        config = config.with_(allow_private=True)
    if ignore_robots:
        config = config.with_(obey_robots=False)
    overrides: dict[str, Any] = {}
    for item in sets:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="-s")
        overrides[name] = value
    overrides = check_overrides(overrides)
    if jobdir:
        overrides["JOBDIR"] = jobdir
    return config, overrides


def _summarise(result: CrawlResult, as_json: bool) -> None:
    if as_json:
        summary = {
            "job": result.job_id,
            "status": result.status,
            "finish_reason": result.finish_reason,
            "counts": result.counts,
            "message": result.message,
        }
        click.echo(json.dumps(summary))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()) if v)
        # a run that did not finish says how it ended (stopped, failed), not Scrapy's reason
        ending = result.finish_reason if result.ok else result.status
        nothing = "nothing due" if result.ok else "nothing recorded"
        click.echo(f"job {result.job_id}: {ending}; {counts or nothing}")
        if result.counts.get("previews_pending"):
            click.echo(
                f"{result.counts['previews_pending']} previews left for `archive extract --pending`"
            )


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="The page's URL, for context (relative links, metadata).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line and file.")
@click.option(
    "--pending", is_flag=True, help="Make the previews captures are waiting for, instead."
)
@click.option("--limit", type=int, help="With --pending: at most this many.")
@pass_ctx
def extract(
    ctx: Context,
    files: tuple[str, ...],
    url: str | None,
    as_json: bool,
    pending: bool,
    limit: int | None,
) -> None:
    """Extract preview text from local files (HTML or .html.gz, PDF, text), or with
    --pending, the previews of captures recorded without one."""
    if pending:
        if files:
            raise click.UsageError("give files or --pending, not both")
        _extract_pending(ctx, limit, as_json)
        return
    if not files:
        raise click.UsageError("give the files to extract, or --pending")
    from dataclasses import asdict

    from archive.extract import extract_file

    for path in files:
        started = time.perf_counter()
        found = extract_file(path, url=url)
        ms = (time.perf_counter() - started) * 1000
        if as_json:
            record = {"path": path, **asdict(found), "ms": round(ms, 2)}
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        click.echo(f"==> {path} ({found.kind}, {ms:.0f} ms): {found.title or '(no title)'}")
        click.echo(found.text or "(no text)")


def _extract_pending(ctx: Context, limit: int | None, as_json: bool) -> None:
    """Previews of pending captures, under the crawl lock (they are written to the WARCs)."""
    from archive.cli.progress import Progress
    from archive.integrity.pending import extract_pending
    from archive.store.locks import Busy, crawl_lock

    try:
        with crawl_lock(ctx.config.home, store=ctx.store):
            progress = Progress()
            try:
                counts = extract_pending(
                    ctx.store, limit, lambda done, total: progress("previews", done, total)
                )
            finally:
                progress.close()
    except Busy as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(75)
    if as_json:
        click.echo(json.dumps({"previews": counts.done, "without_text": counts.without_text}))
    else:
        click.echo(f"{counts.done} previews made, {counts.without_text} without text")
