"""The ``archive`` command line (entry point ``archive.cli:main``)."""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import os
import sys
from typing import Any

#: the exit status the process ends with (1 until the command sets its own)
_status = 1


def main() -> None:
    """Refuse a bad setting at once (``archive.cli.preflight``), then run the command."""
    atexit.register(_end_without_teardown)  # registered first, so it runs last
    try:
        _run()
    except SystemExit as done:
        _set_status(done.code)
        raise


def _set_status(code: object) -> None:
    global _status
    _status = code if isinstance(code, int) else 0 if code is None else 1


def _end_without_teardown() -> None:
    """The last exit handler: every other one has run (logging, multiprocessing's), and all
    the command wrote is flushed and closed; the interpreter's teardown of what a crawl
    imports (Scrapy, Twisted, SQLAlchemy, lxml) would take another 0.4 s, for nothing."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to flush to
            stream.flush()
    os._exit(_status)


def _run() -> None:
    # The commands' imports (SQLAlchemy, Scrapy, lxml) make a few hundred thousand objects
    # that live as long as the process: the cyclic collector, walking them all again and
    # again as they arrive, would cost a tenth of a second for no garbage. It sees only
    # what the command makes once they are imported.
    gc.disable()
    from archive.config import SettingError

    if not {"-v", "--verbose"} & set(sys.argv[1:]):  # -v: the full run shows the traceback
        from archive.cli.preflight import preflight

        try:
            preflight(sys.argv[1:])
        except SettingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
    from archive.cli.main import main as run

    gc.freeze()
    gc.enable()
    run()


def __getattr__(name: str) -> Any:
    # ``cli`` imports every command: only when it is asked for.
    if name == "cli":
        from archive.cli.main import cli

        return cli
    raise AttributeError(name)


__all__ = ["cli", "main"]
