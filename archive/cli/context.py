"""What every ``archive`` command is handed: the configuration and the store, opened lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from archive.config import Config, load_config

if TYPE_CHECKING:  # SQLAlchemy, for the commands that open the store (`crawl` does not)
    from archive.store.db import Store
    from archive.store.models import Resource


class Context:
    def __init__(self, home: str | None, read_only: bool = False) -> None:
        self.config: Config = load_config(**({"home": home} if home else {}))
        #: A command that only reads never creates a store where there is none.
        self.read_only = read_only
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from archive.store.db import Store

            self._store = Store(self.config, create=not self.read_only)
        return self._store

    def find(self, session: Any, ref: str) -> Resource:
        """The resource a user named (id, sid_… or URL), or a clean command-line error."""
        from archive.registry.lookup import NotFound, find_resource

        try:
            return find_resource(session, ref, self.config.hashids_salt)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from exc


pass_ctx = click.make_pass_decorator(Context)


def states_option(value: str | None) -> tuple[str, ...]:
    """--state names, checked: a misspelt state is an error, not an empty list."""
    from archive.rot.reports import parse_states

    if not value:
        return ()
    try:
        return parse_states(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--state") from exc
