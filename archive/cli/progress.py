"""Progress of long commands (reindex, export) on stderr."""

from __future__ import annotations

import sys
import time

import click

STAGES = {
    "read": "reading WARC files",
    "rebuild": "rebuilding captures",
    "captures": "rows",
    "pack": "packing WARC files",
    "hash": "hashing for the manifest",
    "previews": "previews",
}


class Progress:
    """Progress on stderr: one line rewritten in place on a terminal; in a log (cron),
    a line every few seconds and one when a stage ends."""

    def __init__(self, interval: float = 5.0) -> None:
        self.tty = sys.stderr.isatty()
        self.interval = 0.1 if self.tty else interval
        self.last = 0.0
        self.open_line = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done != total and now - self.last < self.interval:
            return
        self.last = now
        line = f"{STAGES.get(stage, stage)}: {done}/{total}"
        if self.tty:
            click.echo(f"\r{line}\x1b[K", err=True, nl=done == total)
            self.open_line = done != total
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        if self.open_line:
            click.echo(err=True)
            self.open_line = False
