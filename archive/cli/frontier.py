"""``enqueue`` and ``frontier status``: a crawl shared by many workers on Redis."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from archive.cli.context import Context, pass_ctx
from archive.config import Config, SettingError, check_settings

if TYPE_CHECKING:
    from archive.frontier.state import Frontier, Status

FRONTIER_OPTION = click.option(
    "--frontier",
    "frontier_url",
    metavar="URL",
    help="The Redis of a shared crawl (redis://HOST:PORT/N; or ARCHIVE_FRONTIER_URL).",
)


def frontier_config(config: Config, url: str | None) -> Config:
    """``config`` with the frontier of ``--frontier`` (else ARCHIVE_FRONTIER_URL) and this
    worker's name fixed, or a one-line SettingError."""
    if url is not None:
        checked = check_settings({"ARCHIVE_FRONTIER_URL": url}, "--frontier ")
        config = config.with_(frontier_url=checked["ARCHIVE_FRONTIER_URL"])
    if not config.frontier_url:
        raise SettingError(
            "no frontier: give --frontier redis://HOST:PORT/N or set ARCHIVE_FRONTIER_URL"
        )
    return config.with_(worker_name=config.worker)


def shared_crawl_config(config: Config, url: str | None) -> Config:
    """The config of a shared crawl's worker or feeder: its frontier (:func:`frontier_config`)
    and a store every machine can reach (PostgreSQL), or a one-line SettingError."""
    from archive.frontier.state import require_postgresql

    config = frontier_config(config, url)
    require_postgresql(config)
    return config


def open_frontier(config: Config) -> Frontier:
    from archive.frontier.state import Frontier

    return Frontier.open(config)


@click.command()
@FRONTIER_OPTION
@click.option("--due", "mode", flag_value="due", default=True, help="What is due (default).")
@click.option("--all", "mode", flag_value="all", help="Every resource, due or not.")
@click.option("--limit", type=int, help="At most this many resources.")
@click.option("--type", "type_", help="Only resources of this type.")
@click.option("--host", help="Only resources on this host.")
@pass_ctx
def enqueue(
    ctx: Context,
    frontier_url: str | None,
    mode: str,
    limit: int | None,
    type_: str | None,
    host: str | None,
) -> None:
    """Queue the due resources in a shared crawl's frontier (beginning the crawl if none
    is under way); workers started with `archive crawl --frontier` take them."""
    from archive.rot.selection import Wanted, select_resources

    config = shared_crawl_config(ctx.config, frontier_url)
    frontier = open_frontier(config)
    ctx.config = config
    frontier.begin()
    wanted = Wanted(everything=mode == "all", limit=limit, type=type_, host=host)
    chosen = select_resources(ctx.store, wanted, datetime.now(UTC))
    queued = frontier.push(chosen.chosen, chosen.in_browser)
    frontier.seeded()
    left = len(chosen.chosen) - queued
    click.echo(f"crawl {frontier.crawl}: {queued} queued ({left} already in it)")


@click.group()
def frontier() -> None:
    """The shared frontier of a crawl run by many workers."""


@frontier.command("status")
@FRONTIER_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def status_cmd(ctx: Context, frontier_url: str | None, as_json: bool) -> None:
    """Queued, leased, done and failed resources of the crawl, and each worker's rate."""
    show_status(frontier_config(ctx.config, frontier_url), as_json)


def show_status(config: Config, as_json: bool) -> None:
    status = open_frontier(config).status()
    if as_json:
        click.echo(json.dumps(asdict(status) | {"rates": _rates(status)}))
        return
    click.echo(
        f"crawl {status.crawl} ({status.phase}): {status.queued} queued, {status.leased} "
        f"leased, {status.done} done ({status.failed} failed) of {status.enqueued}"
    )
    now = datetime.now(UTC).timestamp()
    for worker in status.workers:
        ago = now - worker.last_seen
        click.echo(
            f"  {worker.name}: {worker.done} done, {worker.rate:.1f} pages/s, "
            f"job {worker.job}, pid {worker.pid} on {worker.host}, seen {ago:.0f} s ago"
        )


def _rates(status: Status) -> dict[str, float]:
    return {w.name: round(w.rate, 3) for w in status.workers}
