"""``search``: archived pages by their words."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from archive.cli.context import Context, pass_ctx, states_option

if TYPE_CHECKING:
    from archive.inspect.search import SearchResults


class QueryTrouble(click.ClickException):
    """A query with nothing to search for: a usage error (exit 2), said in one line."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2026-04-09, or 2026-04-09T12:00)", param_hint="--since"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--state", help="Only resources in these link states, comma-separated.")
@click.option("--type", "type_", help="Only this resource type (web, paper, ...).")
@click.option("--host", help="Only this host (with or without www.).")
@click.option("--since", help="Only captures made on or after this date (2026-04-09).")
@click.option(
    "--all-captures", is_flag=True, help="Every matching capture, not each page's last good one."
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, help="Results shown (20).")
@click.option("--page", type=click.IntRange(1), default=1, help="Which page of results.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_ctx
def search(
    ctx: Context,
    query: tuple[str, ...],
    state: str | None,
    type_: str | None,
    host: str | None,
    since: str | None,
    all_captures: bool,
    limit: int,
    page: int,
    as_json: bool,
) -> None:
    """Find archived pages by their words, best first.

    \b
    QUERY: words (all must appear), "a phrase" in quotes, -word to leave
    pages with it out, word* for words starting so. Matches titles, URLs and
    the archived text; case and accents do not matter (cafe finds café).

    Each page is found by its last good capture unless --all-captures.
    Exits 2 when the query has nothing to search for.
    """
    from archive.inspect.search import QueryError, SearchFilter
    from archive.inspect.search import search as run

    filters = SearchFilter(
        states=states_option(state),
        type=type_ or "",
        host=host or "",
        since=_since(since),
        all_captures=all_captures,
    )
    with ctx.store.session() as session:
        try:
            found = run(
                session,
                " ".join(query),
                filters,
                page=page,
                page_size=limit,
                viewer=ctx.config.viewer_url,
            )
        except QueryError as exc:
            raise QueryTrouble(str(exc)) from None
    if as_json:
        out = {
            "query": found.query.text,
            "total": found.total,
            "more": found.more,
            "page": found.page,
            "pages": found.pages,
            "results": [hit.as_json() for hit in found.hits],
        }
        click.echo(json.dumps(out, indent=1, ensure_ascii=False))
        return
    _print(found, limit)


def _print(found: SearchResults, limit: int) -> None:
    """Each hit in four lines, its words marked (bold on a terminal); the count on stderr."""
    bold = sys.stdout.isatty()
    for n, hit in enumerate(found.hits, (found.page - 1) * limit + 1):
        click.echo(f"{n}. {hit.title or '(untitled)'}")
        click.echo(f"   {hit.url}")
        click.echo(
            f"   {hit.fetched_at:%Y-%m-%d %H:%M} UTC · {hit.capture_id} · {hit.link_state}"
            f" · {hit.replay_url}"
        )
        if hit.snippet.text:
            shown = hit.snippet.marked("\x1b[1m", "\x1b[0m") if bold else hit.snippet.marked()
            click.echo(f"   {shown}")
    pages = f", page {found.page} of {found.pages}" if found.pages > 1 else ""
    counted = f"more than {found.total:,}" if found.more else f"{found.total:,}"
    click.echo(f"{counted} {'match' if found.total == 1 else 'matches'}{pages}", err=True)
