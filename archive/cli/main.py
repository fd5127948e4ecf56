"""The ``archive`` command: a thin layer over the library in ``archive/``.

Each family of subcommands lives in its own module of this package; this module
only makes the group and names them. A command's module is imported when that command
runs (click's lazy subcommands): `archive crawl` does not pay for the viewer's pywb or
the exports' WACZ writer.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

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
    "search",
}


#: command name -> "module:attribute" of its click command, in the order `--help` lists them
COMMANDS = {
    "import": "resources:import_cmd",
    "list": "resources:list_cmd",
    "show": "resources:show",
    "stats": "resources:stats",
    "search": "search:search",
    "crawl": "crawl:crawl",
    "extract": "crawl:extract",
    "enqueue": "frontier:enqueue",
    "frontier": "frontier:frontier",
    "history": "rot:history",
    "diff": "rot:diff",
    "report": "rot:report",
    "schedule": "rot:schedule",
    "cat": "warcs:cat",
    "verify": "warcs:verify",
    "reindex": "warcs:reindex",
    "serve": "serve:serve",
    "export": "export:export",
    "push": "push:push",
}


class LazyGroup(click.Group):
    """A group whose commands are imported when asked for (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, attribute = where.split(":")
        command: Any = getattr(importlib.import_module(f"archive.cli.{module}"), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="ARCHIVE_HOME", help="State folder (default ./data).")
@click.option("-v", "--verbose", is_flag=True, help="On errors, show the Python traceback.")
@click.version_option(package_name="cited-archive")
@click.pass_context
def cli(ctx: click.Context, home: str | None, verbose: bool) -> None:
    """Archive cited web pages: crawl them into WARCs, keep clean previews, track link rot."""
    ctx.obj = Context(home, read_only=ctx.invoked_subcommand in READ_ONLY)


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
