"""``import``, ``list``, ``show`` and ``stats``: the registry of cited resources."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Text, cast, func, select

from archive.cli.context import Context, pass_ctx
from archive.registry.urls import host_names
from archive.store.models import Capture, Job, Resource


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_ctx
def import_cmd(ctx: Context, files: tuple[Path, ...]) -> None:
    """Import resource lists (wiki YAML/JSON, CSV with a url column, text)."""
    from archive.registry.importer import import_files

    started = time.perf_counter()
    failed = False
    for report in import_files(ctx.store, files):
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
    query: Any, type_: str | None, tag: str | None, state: str | None, host: str | None
) -> Any:
    if type_:
        query = query.where(Resource.type == type_)
    if state:
        query = query.where(Resource.link_state.in_(state.split(",")))
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
@pass_ctx
def list_cmd(
    ctx: Context,
    type_: str | None,
    tag: str | None,
    state: str | None,
    host: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List resources."""
    from archive.inspect.card import resource_json

    query = _filtered(select(Resource), type_, tag, state, host).order_by(Resource.url)
    if limit:
        query = query.limit(limit)
    with ctx.store.session() as session:
        rows = session.scalars(query).all()
        if as_json:
            click.echo(json.dumps([resource_json(r) for r in rows], indent=1, ensure_ascii=False))
            return
        for r in rows:
            click.echo(f"{r.resource_id}  {r.stable_id:<16}  {r.link_state:<10}  {r.url}")
        click.echo(f"{len(rows)} resources", err=True)


@click.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the card as JSON.")
@pass_ctx
def show(ctx: Context, ref: str, as_json: bool) -> None:
    """Show a resource card: REF is a resource id, a sid_… stable id or a URL."""
    from archive.inspect.card import resource_card, resource_json

    with ctx.store.session() as session:
        res = ctx.find(session, ref)
        captures = list(res.captures)
        if as_json:
            card = resource_json(res) | {
                "captures": [c.capture_id for c in captures],
                "meta": res.meta,
            }
            click.echo(json.dumps(card, indent=1, ensure_ascii=False))
        else:
            click.echo(resource_card(res, captures))


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def stats(ctx: Context, as_json: bool) -> None:
    """Counts of resources by link state and type, captures, WARC files."""
    with ctx.store.session() as session:
        by_state = dict(
            session.execute(
                select(Resource.link_state, func.count()).group_by(Resource.link_state)
            ).all()
        )
        by_type = dict(
            session.execute(
                select(func.coalesce(Resource.type, "?"), func.count()).group_by(Resource.type)
            ).all()
        )
        captures = session.scalar(select(func.count()).select_from(Capture)) or 0
        jobs = session.scalar(select(func.count()).select_from(Job)) or 0
        last = session.scalar(select(Job).order_by(Job.id.desc()).limit(1))
        last_job = None
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
    out = {
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
