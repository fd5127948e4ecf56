"""``export``: the archive for others: the wiki's snapshot JSON, a CDXJ index, a WACZ."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import click
from sqlalchemy.orm import Session

from archive.cli.context import Context
from archive.cli.progress import Progress
from archive.export.selection import Selection
from archive.export.snapshot import snapshot, write_snapshot
from archive.export.wacz import NothingToExport, warc_files_for, write_cdxj, write_wacz
from archive.inspect.card import kb
from archive.registry.lookup import NotFound, find_resource
from archive.rot.reports import parse_states


@click.command()
@click.argument("kind", type=click.Choice(["json", "cdxj", "wacz", "citation-content"]))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write (standard output by default; wacz: required).",
)
@click.option("--ids", help="Only these resources (ids, sid_… or URLs, comma-separated).")
@click.option("--state", "states", help="Only these link states, comma-separated.")
@click.option("--type", "type_", help="Only resources of this type.")
@click.option("--full-text", is_flag=True, help="json: each preview's whole text, not 3,000 chars.")
@click.option("--title", help="wacz: the collection's title.")
@click.pass_obj
def export(
    ctx: Context,
    kind: str,
    output: Path | None,
    ids: str | None,
    states: str | None,
    type_: str | None,
    full_text: bool,
    title: str | None,
) -> None:
    """Export the archive: KIND is json (the wiki's snapshot format, with each citation's
    link state and preview), cdxj (an index of every WARC record), wacz (WARC files,
    index, pages and manifest in one file ReplayWeb.page opens) or citation-content (the
    rows of the wiki's citation_content table, one JSON object a line, each exactly the
    body its server's /api/citations/content/upsert takes, from each resource's last good
    capture; archive push wiki sends them).

    Exits 0 when written, 1 when WARC files the store names are missing.
    """
    if kind == "wacz" and output is None:
        raise click.UsageError("wacz needs -o FILE.wacz")
    try:
        wanted = list(parse_states(states)) if states else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--state") from exc
    with ctx.store.session() as session:
        chosen = None
        if ids:
            try:
                refs = [r.strip() for r in ids.split(",") if r.strip()]
                salt = ctx.config.hashids_salt
                chosen = [find_resource(session, ref, salt).resource_id for ref in refs]
            except NotFound as exc:
                raise click.BadParameter(str(exc), param_hint="--ids") from exc
        selection = Selection(ids=chosen, states=wanted, type=type_)
        try:
            if kind == "json":
                with _text_out(output) as out:
                    count = write_snapshot(snapshot(session, selection, full_text), out)
                _done(output, f"{count} resources")
            elif kind == "citation-content":
                _citation_content(session, selection, output)
            elif kind == "cdxj":
                paths = warc_files_for(session, selection.resources(session), ctx.config.warc_dir)
                with _text_out(output) as out:
                    write_cdxj(paths, out)
                _done(output, f"the records of {len(paths)} WARC files")
            else:
                assert output is not None
                _wacz(session, selection, ctx.config.warc_dir, output, title)
        except (FileNotFoundError, NothingToExport) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


def _wacz(
    session: Session, selection: Selection, warc_dir: Path, output: Path, title: str | None
) -> None:
    progress = Progress()
    try:
        report = write_wacz(session, selection, warc_dir, output, title, progress)
    finally:
        progress.close()
    _done(output, f"{report.pages} pages, {report.warc_files} WARC files, {kb(report.bytes)}")


def _citation_content(session: Session, selection: Selection, output: Path | None) -> None:
    from archive.export.citation_content import citation_content, write_rows

    with _text_out(output) as out:
        count, skipped = write_rows(citation_content(session, selection), out)
    for item in skipped:
        click.echo(f"warning: left out {item.shown}: {item.reason}", err=True)
    left_out = f" ({len(skipped)} left out)" if skipped else ""
    _done(output, f"{count} rows{left_out}")


@contextmanager
def _text_out(path: Path | None) -> Iterator[TextIO]:
    """A text stream to ``path``, or standard output when there is none."""
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8") as fh:
        yield fh


def _done(output: Path | None, what: str) -> None:
    if output is not None:  # on standard output the data speaks for itself
        click.echo(f"wrote {output}: {what}", err=True)
