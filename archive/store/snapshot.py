"""A new SQLite store's schema in one script, instead of its migrations run one by one.

Alembic is what upgrades a store, and what made every store's schema; but a store that
does not exist yet has nothing to upgrade, and importing Alembic and running six
migrations takes a fifth of a second, every first run of every command and every test's
new store. ``schema.sql`` holds the schema those migrations leave (as SQLite keeps it in
``sqlite_master``) and the revision it is at: a new SQLite store is made from it when that
revision is the newest migration's, by Alembic otherwise. tests/test_store.py checks that
both give the same schema; after adding a migration, write the file again with

    python -m archive.store.make_snapshot
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

SCRIPT = Path(__file__).with_name("schema.sql")
#: the script's first line, before the revision it is at
REVISION_LINE = "-- revision: "
#: the order the statements run in: what the next ones refer to comes first
_KINDS = ("table", "index", "trigger", "view")


def schema_statements(db: sqlite3.Connection) -> list[str]:
    """The statements that make ``db``'s schema, tables first; the tables SQLite makes
    for itself (``sqlite_*``, and those behind a virtual table) are left out."""
    rows = db.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    virtual = [name for kind, name, sql in rows if sql.upper().startswith("CREATE VIRTUAL")]

    def own(kind: str, name: str) -> bool:
        shadow = kind == "table" and any(name.startswith(f"{table}_") for table in virtual)
        return not name.startswith("sqlite_") and not shadow

    ordered = sorted(rows, key=lambda row: (_KINDS.index(row[0]), row[1]))
    return [sql for kind, name, sql in ordered if own(kind, name)]


def snapshot_revision() -> str | None:
    """The revision ``schema.sql`` is at (None when it is missing)."""
    try:
        first = SCRIPT.read_text(encoding="utf-8").split("\n", 1)[0]
    except OSError:
        return None
    return first.removeprefix(REVISION_LINE) if first.startswith(REVISION_LINE) else None


def create_from_snapshot(engine: Engine) -> bool:
    """Make the schema of an empty SQLite store from ``schema.sql``, in one transaction;
    False when the store was not empty any more once locked (another process made it)."""
    first, body = SCRIPT.read_text(encoding="utf-8").split("\n", 1)
    raw: Any = engine.raw_connection()
    db = raw.driver_connection
    try:
        db.execute("BEGIN IMMEDIATE")  # the write lock, then look again
        if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            db.execute("ROLLBACK")
            return False
        for statement in body.split(";\n"):  # each statement ends a line (make_snapshot)
            if statement.strip():
                db.execute(statement)
        db.execute("INSERT INTO alembic_version VALUES (?)", (first.removeprefix(REVISION_LINE),))
        db.execute("COMMIT")
        return True
    finally:
        raw.close()
