"""The ``archive`` command line (entry point ``archive.cli:main``)."""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    """Refuse a bad setting at once (``archive.cli.preflight``), then run the command."""
    from archive.config import SettingError

    if not {"-v", "--verbose"} & set(sys.argv[1:]):  # -v: the full run shows the traceback
        from archive.cli.preflight import preflight

        try:
            preflight(sys.argv[1:])
        except SettingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
    from archive.cli.main import main as run

    run()


def __getattr__(name: str) -> Any:
    # ``cli`` imports every command: only when it is asked for.
    if name == "cli":
        from archive.cli.main import cli

        return cli
    raise AttributeError(name)


__all__ = ["cli", "main"]
