"""``archive serve``: the web viewer and replay."""

from __future__ import annotations

import click

from archive.cli.context import Context


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Requests are answered for IP addresses, localhost, this host "
    "and the host of ARCHIVE_VIEWER_URL only (a guard against DNS rebinding).",
)
@click.option("--port", default=8600, show_default=True, type=int, help="The viewer's port.")
@click.option(
    "--replay-port",
    default=8601,
    show_default=True,
    type=int,
    help="The replay server's port: archived pages are served from this other origin.",
)
@click.pass_obj
def serve(ctx: Context, host: str, port: int, replay_port: int) -> None:
    """Browse the archive offline: resources, captures, diffs, link rot, and replay of
    archived pages (pywb). Stop with Ctrl-C."""
    from archive.web.server import ServeError
    from archive.web.server import serve as run

    try:
        run(ctx.store, host, port, replay_port, announce=click.echo)
    except (ServeError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        pass
