"""The ``archive`` command: a thin layer over the library in ``archive/``.

Each family of subcommands lives in its own module of this package; this module
only makes the group and registers them.
"""

from __future__ import annotations

import click

from archive.cli import crawl, export, resources, rot, serve, warcs
from archive.cli.context import Context


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="ARCHIVE_HOME", help="State folder (default ./data).")
@click.version_option(package_name="cited-archive")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """Archive cited web pages: crawl them into WARCs, keep clean previews, track link rot."""
    ctx.obj = Context(home)


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
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="archive")


if __name__ == "__main__":
    main()
