"""The ``archive`` command: a thin layer over the library in ``archive/``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Text, cast, func, select

from archive.config import Config, load_config
from archive.db import Store
from archive.models import Capture, Job, Resource


class Context:
    def __init__(self, home: str | None) -> None:
        self.config: Config = load_config(**({"home": home} if home else {}))
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.config)
        return self._store

    def find(self, session: Any, ref: str) -> Resource:
        """The resource a user named (id, sid_… or URL), or a clean command-line error."""
        from archive.lookup import NotFound, find_resource

        try:
            return find_resource(session, ref, self.config.hashids_salt)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from exc


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="ARCHIVE_HOME", help="State folder (default ./data).")
@click.version_option(package_name="cited-archive")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """Archive cited web pages: crawl them into WARCs, keep clean previews, track link rot."""
    ctx.obj = Context(home)


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_ctx
def import_cmd(ctx: Context, files: tuple[Path, ...]) -> None:
    """Import resource lists (wiki YAML/JSON, CSV with a url column, text)."""
    from archive.importer import import_files

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
        bare = host.lower().removeprefix("www.")
        query = query.where(Resource.host.in_([bare, f"www.{bare}"]))
    if tag:  # JSON arrays are text on every backend; match the quoted element
        query = query.where(cast(Resource.tags, Text).like(f"%{json.dumps(tag)}%"))
    return query


@cli.command("list")
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
    from archive.present import resource_json

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


@cli.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the card as JSON.")
@pass_ctx
def show(ctx: Context, ref: str, as_json: bool) -> None:
    """Show a resource card: REF is a resource id, a sid_… stable id or a URL."""
    from archive.present import resource_card, resource_json

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


@cli.command()
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


@cli.command()
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
    "--jobdir", type=click.Path(file_okay=False), help="Scrapy JOBDIR: pause/resume state."
)
@click.option("--wait", is_flag=True, help="If another crawl runs, wait for it instead of exiting.")
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
    jobdir: str | None,
    wait: bool,
    sets: tuple[str, ...],
    verbose: bool,
    as_json: bool,
) -> None:
    """Fetch resources into WARC files, extract previews, update link states.

    Exits 0 when the run completed (dead links are data, not failure), 1 when the
    run itself failed, 75 when another crawl holds the store and --wait was not given.
    """
    from archive.crawl import run_crawl
    from archive.locks import Busy, crawl_lock

    config = ctx.config
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
    if jobdir:
        overrides["JOBDIR"] = jobdir
    args = {
        "source": source,
        "ids": ids,
        "url": url,
        "all": "1" if mode == "all" else None,
        "limit": limit,
        "type": type_,
        "host": host,
    }
    ctx.config = config  # before the store opens: the crawl reads its flags from it
    try:
        with crawl_lock(config.home, wait=wait, store=ctx.store):
            result = run_crawl(ctx.store, args, overrides, verbose=verbose)
    except Busy as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(75)  # EX_TEMPFAIL: cron may simply try again later
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
        click.echo(f"job {result.job_id}: {result.finish_reason}; {counts or 'nothing due'}")
    if not result.ok:
        click.echo(f"error: the crawl failed: {result.message}", err=True)
        sys.exit(1)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="The page's URL, for context (relative links, metadata).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line and file.")
def extract(files: tuple[str, ...], url: str | None, as_json: bool) -> None:
    """Extract preview text from local files (HTML or .html.gz, PDF, text)."""
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


from archive.commands import export, rot, serve, warcs  # noqa: E402 - registered on `cli` above

for _command in (
    rot.history,
    rot.diff,
    rot.report,
    rot.schedule,
    warcs.cat,
    warcs.verify,
    warcs.reindex,
    serve.serve,
    export.export,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="archive")


if __name__ == "__main__":
    main()
