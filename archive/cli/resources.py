"""``import``, ``list``, ``show`` and ``stats``: the registry of cited resources."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Text, cast, func, select

from archive.cli.context import Context, pass_ctx, states_option
from archive.registry.urls import host_names
from archive.store.models import DEFAULT_TYPE, Capture, Job, Resource, type_is


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--allow-url-change",
    is_flag=True,
    help="Let a known id take another URL (recorded as an event of the resource).",
)
@pass_ctx
def import_cmd(ctx: Context, files: tuple[Path, ...], allow_url_change: bool) -> None:
    """Import resource lists into the registry.

    \b
    Formats, by file name:
      .yaml .yml  the wiki's registry: a list of {id, url, title, type, tags, ...}
      .json       the wiki's snapshot: a list of objects, or {"resources": [...]}
      .csv        a header row with a url column (id, title, type, tags optional)
      .txt (any)  one URL per line; blank lines and # comments skipped
      a folder    every list in it, e.g. the wiki's data/citation-archive/
                  (one YAML file per page: pageId and its citations, each
                  with the wiki's own check, kept as a prior check)

    Rows are matched on their id (or, without one, the sha256 rule on the URL):
    new ones are added, known ones updated. A known id with another URL is refused
    unless --allow-url-change. Bad rows are reported with their line and skipped;
    the rest imports. Exits 1 when a file could not be read at all.
    """
    from archive.registry.importer import import_files

    started = time.perf_counter()
    failed = False
    for report in import_files(ctx.store, files, allow_url_change):
        if report.error:
            failed = True
            click.echo(f"error: {report.summary()}", err=True)
            continue
        for warning in report.warnings[:10]:
            click.echo(f"warning: {warning}", err=True)
        if len(report.warnings) > 10:
            click.echo(f"warning: ... and {len(report.warnings) - 10} more like these", err=True)
        for bad in report.rejected:
            click.echo(f"{report.path}:{bad.line}: skipped: {bad.reason}", err=True)
        click.echo(report.summary())
    click.echo(f"done in {time.perf_counter() - started:.2f} s", err=True)
    if failed:
        sys.exit(1)


def _filtered(
    query: Any, type_: str | None, tag: str | None, state: tuple[str, ...], host: str | None
) -> Any:
    if type_:
        query = query.where(type_is(type_))
    if state:
        query = query.where(Resource.link_state.in_(state))
    if host:
        query = query.where(Resource.host.in_(host_names(host)))
    if tag:  # JSON arrays are text on every backend; match the quoted element
        query = query.where(cast(Resource.tags, Text).like(f"%{json.dumps(tag)}%"))
    return query


@click.command("list")
@click.option("--type", "type_", help="Only this resource type (web, paper, ...).")
@click.option("--tag", help="Only resources with this tag.")
@click.option("--state", help="Only these link states, comma-separated.")
@click.option("--host", help="Only this host (with or without www.).")
@click.option("--limit", type=int, default=0, help="At most this many (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line.")
@pass_ctx
def list_cmd(
    ctx: Context,
    type_: str | None,
    tag: str | None,
    state: str | None,
    host: str | None,
    limit: int,
    as_json: bool,
    as_jsonl: bool,
) -> None:
    """List resources, by URL. Streams: any number of resources in constant memory."""
    from archive.inspect.card import RESOURCE_JSON_COLUMNS, plural, resource_json

    if as_json and as_jsonl:
        raise click.UsageError("choose one of --json and --jsonl")
    # Plain rows of the columns shown, read in batches: the session never holds them all.
    columns = select(*(getattr(Resource, name) for name in RESOURCE_JSON_COLUMNS))
    query = _filtered(columns, type_, tag, states_option(state), host).order_by(Resource.url)
    if limit:
        query = query.limit(limit)
    out = sys.stdout
    count = 0
    with ctx.store.session() as session:
        for row in session.execute(query.execution_options(yield_per=1000)):
            if as_json or as_jsonl:
                item = json.dumps(resource_json(row), ensure_ascii=False)
                out.write(item + "\n" if as_jsonl else ("," if count else "[") + "\n" + item)
            else:
                out.write(
                    f"{row.resource_id}  {row.stable_id:<16}  {row.link_state:<10}  {row.url}\n"
                )
            count += 1
    if as_json:
        out.write("\n]\n" if count else "[]\n")
    out.flush()
    if not (as_json or as_jsonl):
        click.echo(plural(count, "resource"), err=True)


@click.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the card as JSON.")
@pass_ctx
def show(ctx: Context, ref: str, as_json: bool) -> None:
    """Show a resource card: REF is a resource id, a stable id (with or without sid_) or a URL."""
    from archive.inspect.card import card_json, resource_card
    from archive.inspect.prior import prior_checks

    with ctx.store.session() as session:
        res = ctx.find(session, ref)
        captures = list(res.captures)
        prior = prior_checks(session, res.resource_id)
        if as_json:
            card = card_json(res, captures, prior)
            click.echo(json.dumps(card, indent=1, ensure_ascii=False))
        else:
            click.echo(resource_card(res, captures, prior=prior))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_ctx
def stats(ctx: Context, as_json: bool) -> None:
    """Counts of resources by link state and type, captures, WARC files."""
    kind = func.coalesce(Resource.type, DEFAULT_TYPE)
    with ctx.store.session() as session:
        by_state = dict(
            session.execute(
                select(Resource.link_state, func.count()).group_by(Resource.link_state)
            ).all()
        )
        by_type = dict(session.execute(select(kind, func.count()).group_by(kind)).all())
        captures = session.scalar(select(func.count()).select_from(Capture)) or 0
        jobs = session.scalar(select(func.count()).select_from(Job)) or 0
        last = session.scalar(select(Job).order_by(Job.id.desc()).limit(1))
        last_job: dict[str, Any] | None = None
        if last is not None:
            last_job = {
                "id": last.id,
                "status": last.status,
                "started_at": last.started_at.isoformat(),
                "finished_at": last.finished_at.isoformat() if last.finished_at else None,
                "counts": last.counts,
                "message": last.message,
            }
    warcs = sorted(ctx.config.warc_dir.glob("*.warc.gz*")) if ctx.config.warc_dir.exists() else []
    out: dict[str, Any] = {
        "resources": sum(by_state.values()),
        "link_states": by_state,
        "types": by_type,
        "captures": captures,
        "jobs": jobs,
        "last_job": last_job,
        "warc_files": len(warcs),
        "warc_bytes": sum(p.stat().st_size for p in warcs),
        "home": str(ctx.config.home),
    }
    if as_json:
        click.echo(json.dumps(out, indent=1))
        return
    click.echo(f"Resources: {out['resources']}")
    click.echo("  by link state: " + ", ".join(f"{k} {v}" for k, v in sorted(by_state.items())))
    click.echo("  by type: " + ", ".join(f"{k} {v}" for k, v in sorted(by_type.items())))
    click.echo(f"Captures: {captures}   Jobs: {jobs}")
    if last_job:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(last_job["counts"].items()))
        click.echo(
            f"  last crawl: job {last_job['id']} {last_job['status']}, started "
            f"{last_job['started_at'][:16].replace('T', ' ')} UTC; {counts or 'nothing captured'}"
        )
    click.echo(
        f"WARC files: {len(warcs)} ({out['warc_bytes'] / 1e6:.1f} MB) in {ctx.config.warc_dir}"
    )
