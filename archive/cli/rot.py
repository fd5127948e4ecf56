"""``history``, ``diff``, ``report`` and ``schedule``: following a cited page over time."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from sqlalchemy.orm import Session

from archive.cli.context import Context
from archive.inspect.card import kb, plural
from archive.inspect.history import (
    capture_history,
    capture_label,
    history_json,
    last_text_captures,
    outcome,
    text_diff,
)
from archive.registry.lookup import NotFound, find_resource
from archive.rot import cron
from archive.rot.linkstate import moved_materially
from archive.rot.reports import (
    add_wayback,
    parse_states,
    report_csv,
    report_text,
    rot_report,
)
from archive.store.models import Capture


class DiffTrouble(click.ClickException):
    """diff(1)'s convention: 0 same, 1 different, 2 trouble."""

    exit_code = 2


@click.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def history(ctx: Context, ref: str, as_json: bool) -> None:
    """List a resource's captures, newest first. REF: resource id, sid_… or URL."""
    with ctx.store.session() as session:
        res = ctx.find(session, ref)
        captures = capture_history(session, res)
        if as_json:
            click.echo(json.dumps([history_json(c) for c in captures], indent=1))
            return
        click.echo(f"{res.url}  ({res.resource_id} · {res.stable_id} · {res.link_state})")
        for c in captures:
            flags = [f for f, on in (("changed", c.text_changed), ("revisit", c.is_revisit)) if on]
            change = f"{c.change_size} chars changed" if c.text_changed and c.change_size else ""
            size = kb(c.payload_length) if c.payload_length is not None else "-"
            moved = (
                f"  -> {c.final_url}"
                if c.final_url and moved_materially(c.requested_url, c.final_url)
                else ""
            )
            click.echo(
                f"{c.capture_id:<24} {c.fetched_at:%Y-%m-%d %H:%M}  {outcome(c):<12} "
                f"{size:>8}  {','.join(flags):<15} {change:<18}{moved}".rstrip()
            )
        click.echo(plural(len(captures), "capture"), err=True)


def _capture(session: Session, capture_id: str) -> Capture:
    capture = session.get(Capture, capture_id)
    if capture is None:
        raise DiffTrouble(f"no capture {capture_id}")
    if capture.full_text is None:
        raise DiffTrouble(f"capture {capture_id} ({outcome(capture)}) has no extracted text")
    return capture


@click.command()
@click.argument("first")
@click.argument("second", required=False)
@click.pass_obj
def diff(ctx: Context, first: str, second: str | None) -> None:
    """Diff two captures' extracted text: CAPTURE_A CAPTURE_B, or a resource alone
    for its last two captures with text. Exit 0 if the same, 1 if different, 2 on trouble."""
    with ctx.store.session() as session:
        if second is not None:
            a, b = _capture(session, first), _capture(session, second)
        else:
            try:
                res = find_resource(session, first, ctx.config.hashids_salt)
            except NotFound as exc:
                raise DiffTrouble(str(exc)) from exc
            pair = last_text_captures(session, res)
            if len(pair) < 2:
                raise DiffTrouble(f"{res.resource_id} has {len(pair)} captures with text, not 2")
            a, b = pair
        changes = text_diff(a, b)
        if not changes:
            click.echo(f"no change in text: {capture_label(a)} = {capture_label(b)}")
            return
        click.echo(changes)
    sys.exit(1)


@click.command()
@click.option(
    "--state",
    "states",
    help="Link states, comma-separated (default: dead,gone,paywalled,redirected).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row.")
@click.option(
    "--wayback",
    is_flag=True,
    help="For pages without a good capture of ours, ask the Wayback Machine for its copy.",
)
@click.pass_obj
def report(ctx: Context, states: str | None, as_json: bool, as_csv: bool, wayback: bool) -> None:
    """Link rot: cited pages that are dead, gone, paywalled or redirected, with who cites
    them and their last good capture (or, with --wayback, the Wayback Machine's)."""
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    try:
        wanted = parse_states(states)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--state") from exc
    with ctx.store.session() as session:
        rows = rot_report(session, wanted, viewer=ctx.config.viewer_url)
    if wayback:
        # a failed lookup is a warning: the report goes on without it
        for failure in add_wayback(rows, ctx.config.wayback_api):
            click.echo(f"warning: Wayback Machine lookup failed: {failure}", err=True)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in rows], indent=1, ensure_ascii=False))
    elif as_csv:
        click.echo(report_csv(rows), nl=False)
    else:
        click.echo(report_text(rows, wanted))


@click.command()
@click.option("--every", "period", help="How often: 30m, 6h, 1d, 1w (minutes dividing 60, ...).")
@click.option("--show", is_flag=True, help="Print the installed entry.")
@click.option("--remove", is_flag=True, help="Remove the entry.")
@click.option("--tabfile", type=click.Path(path_type=Path), hidden=True)
@click.pass_obj
def schedule(
    ctx: Context, period: str | None, show: bool, remove: bool, tabfile: Path | None
) -> None:
    """Install, show or remove the crontab entry running `archive crawl --due`."""
    if remove and period:
        raise click.UsageError("--remove and --every do not go together")
    if not (period or show or remove):
        raise click.UsageError("give --every PERIOD, --show or --remove")
    home = ctx.config.home
    if period:  # a period cron cannot keep is refused before crontab(1) is even looked for
        try:
            cron.cron_schedule(period)
        except cron.BadPeriod as exc:
            raise click.BadParameter(str(exc), param_hint="--every") from exc
    try:
        tab = cron.open_tab(tabfile)
        if period:
            entry = cron.install(tab, period, home, Path(os.getcwd()))
            click.echo(f"installed: {entry.line}")
        if remove:
            gone = cron.remove(tab, home)
            click.echo("removed the crawl entry" if gone else f"no crawl scheduled for {home}")
        if show:
            found = cron.show(tab, home)
            if found is None:
                click.echo(f"no crawl scheduled for {home}")
                sys.exit(1)
            click.echo(found.line)
    except OSError as exc:  # no crontab(1), or it refused the new table
        raise click.ClickException(f"crontab: {exc}") from exc
