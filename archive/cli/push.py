"""``push``: sending what the archive made to the systems that use it."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click

from archive.cli.context import Context, pass_ctx
from archive.export.selection import Selection


@click.group()
def push() -> None:
    """Send what the archive made to the systems that use it."""


@push.command("wiki")
@click.option("--server", metavar="URL", help="The wiki's server (default: ARCHIVE_WIKI_SERVER).")
@click.option("--ids", help="Only these resources (ids, sid_… or URLs, comma-separated).")
@click.option("--state", "states", help="Only these link states, comma-separated.")
@click.option("--type", "type_", help="Only resources of this type.")
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send nothing.")
@click.option(
    "--per-minute",
    type=click.FloatRange(min=0),
    default=180,
    show_default=True,
    help="Writes a minute at most (the server allows about 200); 0: as fast as it answers.",
)
@click.option(
    "--max-wait",
    type=click.FloatRange(min=0),
    default=300,
    show_default=True,
    help="Seconds: the longest Retry-After honoured (a longer one waits this long).",
)
@click.option(
    "--backoff",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Seconds before retrying a row after a 5xx or a failed connection; doubled each time.",
)
@click.option("--allow-http", is_flag=True, help="Send the key over plain http to another host.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_ctx
def wiki(ctx: Context, server: str | None, dry_run: bool, as_json: bool, **options: Any) -> None:
    """Push each resource's last good capture to the wiki's server, as rows of its
    citation_content table (POST /api/citations/content/upsert, the rows `archive export
    citation-content` writes): only those changed since the server last acknowledged
    them, each marked once it does, so an interrupted push resumes where it stopped.

    The key is read from ARCHIVE_WIKI_KEY (sent as a bearer token), never from the
    command line, and never shown. 429 answers are waited out as their Retry-After asks,
    5xx answers and failed connections retried with backoff; a row the server refuses
    (another 4xx) is reported with its URL and the server's message, and the rest go on.

    Exits 0 when every changed row was acknowledged, 1 when the push did not get
    through (the server unreachable or failing, the key refused, interrupted: what is
    left goes next time), 2 when it did but the server refused some rows, 75 when
    another push is running.
    """
    from archive.push.client import Manners, WikiServer
    from archive.push.state import Busy, push_lock
    from archive.push.wiki import PushReport, plan, send

    base = _server(ctx, server, options.pop("allow_http"))
    key = ctx.config.wiki_key
    if not key and not dry_run:
        raise click.ClickException("no key: set ARCHIVE_WIKI_KEY to the wiki server's API key")
    selection = _selection(ctx, options)
    manners = Manners(**{k: options[k] for k in ("per_minute", "max_wait", "backoff")})
    report = PushReport(base, dry_run=dry_run)
    try:
        with push_lock(ctx.config.home), _stop_on_signals() as stop:
            plan(ctx.store, selection, base, report)
            for left in report.left_out:
                click.echo(f"warning: left out {left.shown}: {left.reason}", err=True)
            if dry_run:
                _say_planned(report.planned)
            else:
                client = WikiServer(
                    base, key, manners, user_agent=_user_agent(ctx), say=_say, stop=stop
                )
                send(ctx.store, client, report, _say, stop)
    except Busy as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(75)
    click.echo(json.dumps(report.as_json(), indent=1) if as_json else report.summary())
    sys.exit(report.exit_code)


def _server(ctx: Context, given: str | None, allow_http: bool) -> str:
    from archive.push.client import check_server

    server = given or ctx.config.wiki_server
    if not server:
        raise click.UsageError("give the wiki's server: --server URL (or ARCHIVE_WIKI_SERVER)")
    try:
        base = check_server(server, allow_http)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--server") from exc
    if len(base) > 255:
        raise click.BadParameter("over 255 characters", param_hint="--server")
    return base


def _selection(ctx: Context, options: dict[str, Any]) -> Selection:
    from archive.registry.lookup import NotFound, find_resource
    from archive.rot.reports import parse_states

    try:
        states = list(parse_states(options["states"])) if options["states"] else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--state") from exc
    chosen = None
    if options["ids"]:
        refs = [r.strip() for r in options["ids"].split(",") if r.strip()]
        with ctx.store.session() as session:
            try:
                salt = ctx.config.hashids_salt
                chosen = [find_resource(session, ref, salt).resource_id for ref in refs]
            except NotFound as exc:
                raise click.BadParameter(str(exc), param_hint="--ids") from exc
    return Selection(ids=chosen, states=states, type=options["type_"])


def _say_planned(planned: list[Any]) -> None:
    for n, item in enumerate(planned, 1):
        why = "new" if item.new else "changed"
        click.echo(f"[{n}/{len(planned)}] would send {item.url} ({why})", err=True)


def _user_agent(ctx: Context) -> str:
    try:
        ours = version("cited-archive")
    except PackageNotFoundError:
        ours = "0"
    return f"cited-archive/{ours} (+{ctx.config.contact_url})"


def _say(line: str) -> None:
    click.echo(line, err=True)


@contextmanager
def _stop_on_signals() -> Iterator[Any]:
    """SIGINT and SIGTERM ask the push to stop once the row in flight is answered (and
    marked, when acknowledged), so nothing is sent twice; a second one stops it at once."""
    asked: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(signum)
        click.echo("stopping after the row in flight (again to stop at once)", err=True)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(asked)
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
