"""The ``archive`` command: a thin layer over the library in ``archive/``.

Each family of subcommands lives in its own module of this package; this module
only makes the group and registers them.
"""

from __future__ import annotations

import sys

import click

from archive.cli import crawl, export, push, resources, rot, serve, warcs
from archive.cli.context import Context
from archive.cli.errors import explain
from archive.config import SettingError

#: Commands that only read (and push, which only sends what is there): run on a home
#: holding no archive they say so instead of creating an empty one.
READ_ONLY = {
    "list",
    "show",
    "stats",
    "history",
    "diff",
    "report",
    "export",
    "verify",
    "cat",
    "serve",
    "push",
}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="ARCHIVE_HOME", help="State folder (default ./data).")
@click.option("-v", "--verbose", is_flag=True, help="On errors, show the Python traceback.")
@click.version_option(package_name="cited-archive")
@click.pass_context
def cli(ctx: click.Context, home: str | None, verbose: bool) -> None:
    """Archive cited web pages: crawl them into WARCs, keep clean previews, track link rot."""
    ctx.obj = Context(home, read_only=ctx.invoked_subcommand in READ_ONLY)


for _command in (
    resources.import_cmd,
    resources.list_cmd,
    resources.show,
    resources.stats,
    crawl.crawl,
    crawl.extract,
    rot.history,
    rot.diff,
    rot.report,
    rot.schedule,
    warcs.cat,
    warcs.verify,
    warcs.reindex,
    serve.serve,
    export.export,
    push.push,
):
    cli.add_command(_command)


def main() -> None:
    try:
        cli.main(prog_name="archive")
    except Exception as exc:
        if {"-v", "--verbose"} & set(sys.argv[1:]):
            raise
        click.echo(f"error: {explain(exc)}", err=True)
        # a bad setting is a usage error, found before anything started
        sys.exit(2 if isinstance(exc, SettingError) else 1)


if __name__ == "__main__":
    main()
