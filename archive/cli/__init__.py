"""The ``archive`` command line (entry point ``archive.cli:main``)."""

from archive.cli.main import cli, main

__all__ = ["cli", "main"]
