"""What a failed command says: one line a user can act on, not a Python traceback.

Click already turns usage errors into one line; this covers what the library raises
when the environment is wrong (a bad setting, a store that cannot be opened or written,
a folder that cannot be created). ``-v`` anywhere on the command line shows the
traceback instead, for a bug report.
"""

from __future__ import annotations

import sqlalchemy.exc

from archive.store.db import StoreError


def explain(exc: BaseException) -> str:
    """The one line ``exc`` becomes."""
    if isinstance(exc, StoreError | ValueError):
        return str(exc)
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        detail = " ".join(str(exc.orig).split())
        if "readonly" in detail or "read-only" in detail:
            return f"the store cannot be written: {detail} (is ARCHIVE_HOME writable?)"
        return f"the store refused: {detail}"
    if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
        return f"the store: {' '.join(str(exc).split())}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return f"{type(exc).__name__}: {exc} (run with -v to see where)"
