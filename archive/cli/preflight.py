"""Checks made before the commands are even imported: a bad setting is refused in a
fraction of a second, before any store, reactor, job row or WARC file exists.

Only what needs no machinery is checked here (the ``ARCHIVE_*`` environment, and the
archive's own settings given to ``crawl`` with ``-s``); each command checks everything
again, fully, before it starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from archive.config import check_settings, load_config

#: the group's options that take a value (``archive --home DIR COMMAND``)
_GROUP_VALUES = {"--home"}


def _command(args: Sequence[str]) -> int | None:
    """Where the command's name stands in ``args``, if anywhere."""
    skip = False
    for index, arg in enumerate(args):
        if skip:
            skip = False
        elif arg in _GROUP_VALUES:
            skip = True
        elif not arg.startswith("-"):
            return index
    return None


def _sets(args: Sequence[str]) -> Iterator[tuple[str, str]]:
    """The ``NAME=VALUE`` pairs given with ``-s`` / ``--set``."""
    items = iter(args)
    for arg in items:
        if arg in ("-s", "--set"):
            value = next(items, "")
        elif arg.startswith("--set="):
            value = arg.removeprefix("--set=")
        elif arg.startswith("-s") and not arg.startswith("--"):
            value = arg[2:]
        else:
            continue
        name, sep, setting = value.partition("=")
        if sep:
            yield name, setting


def preflight(args: Sequence[str]) -> None:
    """Raise :class:`~archive.config.SettingError` for a bad setting among the
    environment and ``args`` (the command line after ``archive``)."""
    load_config()
    at = _command(args)
    if at is not None and args[at] == "crawl":
        check_settings(dict(_sets(args[at + 1 :])), "-s ")
