"""Store fixtures: every store test runs on SQLite and on the PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from archive.config import load_config
from archive.store.db import Store

PG_SERVER = os.environ.get("ARCHIVE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_schema_url(server: str = PG_SERVER) -> Iterator[str]:
    """A fresh schema per test, dropped afterwards, so tests never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:  # the machine promises a server; say so loudly
        pytest.fail(f"PostgreSQL at {server} is not reachable: {exc}")
    try:
        yield f"{server}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    home = tmp_path / "home"
    if request.param == "sqlite":
        st = Store(load_config(home=home, database_url=""))
        yield st
        st.close()
        return
    gen = _pg_schema_url()
    url = next(gen)
    st = Store(load_config(home=home, database_url=url))
    try:
        yield st
    finally:
        st.close()
        gen.close()
