"""What a failed command says: one line a user can act on, not a Python traceback.

Click already turns usage errors into one line; this covers what the library raises
when the environment is wrong (a bad setting, a store that cannot be opened or written,
a folder that cannot be created). ``-v`` anywhere on the command line shows the
traceback instead, for a bug report.
"""

from __future__ import annotations

import sys


def explain(exc: BaseException) -> str:
    """The one line ``exc`` becomes."""
    # The store's errors come only from modules already imported: a command that never
    # opens the store never imports SQLAlchemy (a fifth of a second) to name them.
    store, sqlalchemy = sys.modules.get("archive.store.db"), sys.modules.get("sqlalchemy.exc")
    if isinstance(exc, ValueError) or (store and isinstance(exc, store.StoreError)):
        return str(exc)
    if sqlalchemy and isinstance(exc, sqlalchemy.DBAPIError):
        detail = " ".join(str(exc.orig).split())
        if "readonly" in detail or "read-only" in detail:
            return f"the store cannot be written: {detail} (is ARCHIVE_HOME writable?)"
        return f"the store refused: {detail}"
    if sqlalchemy and isinstance(exc, sqlalchemy.SQLAlchemyError):
        return f"the store: {' '.join(str(exc).split())}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return f"{type(exc).__name__}: {exc} (run with -v to see where)"
