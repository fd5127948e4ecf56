"""Writes archive/store/schema.sql again, from a new store migrated by Alembic (after a
migration is added; archive/store/snapshot.py says why the file exists):

    python -m archive.store.make_snapshot
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from archive.store.db import _current_revision, make_engine, upgrade_with_alembic
from archive.store.snapshot import REVISION_LINE, SCRIPT, schema_statements


def write_snapshot() -> Path:
    """Migrate a new store with Alembic and write its schema to ``schema.sql``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "new.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        upgrade_with_alembic(engine)
        revision = _current_revision(engine)
        engine.dispose()
        db = sqlite3.connect(path)
        try:
            statements = schema_statements(db)
            for sql in statements:  # rows a migration adds would be lost: there are none
                if sql.startswith("CREATE TABLE") and "alembic_version" not in sql:
                    table = sql.split(None, 3)[2].strip('"')
                    count = db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                    assert count == 0, f"a migration fills {table}: a script cannot say so"
        finally:
            db.close()
    SCRIPT.write_text(
        f"{REVISION_LINE}{revision}\n" + "".join(f"{sql};\n" for sql in statements),
        encoding="utf-8",
    )
    return SCRIPT


if __name__ == "__main__":
    print(f"wrote {write_snapshot()}")
