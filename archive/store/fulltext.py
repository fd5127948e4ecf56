"""The full-text index of captures: every capture with text, by its title, URLs and text.

SQLite: an FTS5 table without content of its own (``captures_fts``, rowid = the
capture's rowid), kept by triggers on ``captures``, so every writer (the crawl,
``extract --pending``, ``reindex``) keeps it without knowing of it. Its tokenizer is
unicode61 with diacritics folded; the text it is given is ``archive_search_text()`` of
each column (search_syntax.document_text: CJK runs as pairs), a function this module
registers on each of the store's connections. A table without content forgets what it
indexed, so the triggers delete a row by giving its old values again: the function must
not change without the index being rebuilt (``rebuild_index``).

PostgreSQL: a generated ``tsvector`` column, ``captures.search_vector`` (the title
weighted A, the URLs B, the text D), computed by the SQL function
``archive_search_vector`` doing what search_syntax does in Python, with a GIN index.

Neither is in the ORM's models: ``include_name`` keeps Alembic's comparison off them.
A migration that rebuilds the captures table (SQLite's batch mode) must run
``sqlite_ddl()`` and ``rebuild_index`` again afterwards; so must anything that changes
the captures' rowids (``VACUUM`` may): ``archive reindex`` rebuilds the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, cast, column, func, literal, literal_column, table, text
from sqlalchemy.sql.elements import ColumnElement

from archive.store.search_syntax import (
    CJK_CLASS,
    CJK_TEXT_CAP,
    FIELD_CAP,
    FOLDS,
    TEXT_CAP,
    SearchQuery,
    document_text,
    fts5_match,
    tsquery,
)

FTS_TABLE = "captures_fts"
PG_COLUMN = "search_vector"
PG_INDEX = "ix_captures_search"
SQLITE_FUNCTION = "archive_search_text"
PG_FUNCTION = "archive_search_vector"
#: bm25 weights of the FTS5 columns: title, URLs, text.
WEIGHTS = (10.0, 3.0, 1.0)


def sqlite_search_text(value: str | None, cap: int) -> str | None:
    """``archive_search_text(column, cap)``: 0 for a page's text (search_syntax.body_cap)."""
    return document_text(value, cap)


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """The function the index's triggers call; on every connection to a SQLite store."""
    dbapi_conn.create_function(SQLITE_FUNCTION, 2, sqlite_search_text, deterministic=True)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """For Alembic: the index's tables, column and index are this module's, not the models'."""
    if type_ == "table":
        return not (name or "").startswith(FTS_TABLE)
    if type_ == "column":
        return not (parent_names.get("table_name") == "captures" and name == PG_COLUMN)
    if type_ == "index":
        return name != PG_INDEX
    return True


# -- SQLite ------------------------------------------------------------------------------


def _columns(row: str) -> str:
    f = SQLITE_FUNCTION
    return (
        f"{f}({row}.page_title, {FIELD_CAP}), "
        f"{f}({row}.requested_url || ' ' || coalesce({row}.final_url, ''), {FIELD_CAP}), "
        f"{f}({row}.full_text, 0)"
    )


_FTS_INSERT = f"INSERT INTO {FTS_TABLE} (rowid, title, url, body)"
_FTS_DELETE = f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, title, url, body)"


def sqlite_ddl() -> list[str]:
    """The FTS5 table and the triggers that keep it, each statement on its own."""
    insert = f"{_FTS_INSERT} SELECT new.rowid, {_columns('new')} WHERE new.full_text IS NOT NULL;"
    delete = (
        f"{_FTS_DELETE} SELECT 'delete', old.rowid, {_columns('old')} "
        "WHERE old.full_text IS NOT NULL;"
    )
    watched = "page_title, requested_url, final_url, full_text"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
        "title, url, body, content='', tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON captures "
        f"BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON captures "
        f"BEGIN {delete} END",
        # The old row's words out first, then the new row's: the other way round, the
        # delete would take away the words the two share.
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE OF {watched} "
        f"ON captures BEGIN {delete} {insert} END",
    ]


def sqlite_drop() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {FTS_TABLE}_update",
        f"DROP TRIGGER IF EXISTS {FTS_TABLE}_delete",
        f"DROP TRIGGER IF EXISTS {FTS_TABLE}_insert",
        f"DROP TABLE IF EXISTS {FTS_TABLE}",
    ]


# -- PostgreSQL --------------------------------------------------------------------------


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _translate(value: str, folds: dict[int, str]) -> str:
    """translate() of the folding letters ``value`` has, if any (PostgreSQL's translate
    looks each character up in the whole list: slow for a long text and a long list)."""
    sources = "".join(chr(c) for c in folds)
    targets = "".join(folds.values())
    return (
        f"(SELECT CASE WHEN v ~ {_sql_literal(f'[{sources}]')} THEN translate(v, "
        f"{_sql_literal(sources)}, {_sql_literal(targets)}) ELSE v END "
        f"FROM (SELECT {value} AS v) x)"
    )


#: Lowercase Latin-1 letters with diacritics, the common ones, then all the others.
_COMMON_FOLDS = {c: b for c, b in FOLDS.items() if c < 0x100 and chr(c) == chr(c).lower()}
_OTHER_FOLDS = {c: b for c, b in FOLDS.items() if c not in _COMMON_FOLDS}


def _pg_words(column: str) -> str:
    """search_syntax's folding and CJK pairs in SQL, for to_tsvector('simple', ...):
    lowercased, Latin diacritics folded, ASCII punctuation a space, CJK runs as pairs."""
    folded = _translate(_translate(f"lower({column})", _COMMON_FOLDS), _OTHER_FOLDS)
    spaced = f"regexp_replace({folded}, '[!-/:-@\\[-`{{-~]+', ' ', 'g')"
    runs = f"regexp_replace({spaced}, '([{CJK_CLASS}]+)', ' \\1 ', 'g')"
    return f"regexp_replace({runs}, '(?<=[{CJK_CLASS}])([{CJK_CLASS}])', '\\1 \\1', 'g')"


def pg_function_ddl() -> str:
    """One function, calling no other of ours (a restore runs it with an empty search_path)."""
    title = _pg_words(f"left(coalesce(title, ''), {FIELD_CAP})")
    url = _pg_words(f"left(coalesce(url, ''), {FIELD_CAP})")
    has_cjk = f"left(coalesce(body, ''), {TEXT_CAP}) ~ '[{CJK_CLASS}]'"
    cap = f"CASE WHEN {has_cjk} THEN {CJK_TEXT_CAP} ELSE {TEXT_CAP} END"
    body = _pg_words(f"left(coalesce(body, ''), {cap})")
    return (
        f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}(title text, url text, body text) "
        "RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT "
        f"setweight(to_tsvector('simple'::regconfig, {title}), 'A') || "
        f"setweight(to_tsvector('simple'::regconfig, {url}), 'B') || "
        f"to_tsvector('simple'::regconfig, {body}) $$"
    )


def pg_ddl() -> list[str]:
    """The function, the generated column (computed for every existing row as it is
    added) and its GIN index."""
    vector = (
        f"CASE WHEN full_text IS NULL THEN NULL ELSE {PG_FUNCTION}(page_title, "
        "requested_url || ' ' || coalesce(final_url, ''), full_text) END"
    )
    return [
        pg_function_ddl(),
        f"ALTER TABLE captures ADD COLUMN {PG_COLUMN} tsvector "
        f"GENERATED ALWAYS AS ({vector}) STORED",
        f"CREATE INDEX {PG_INDEX} ON captures USING gin ({PG_COLUMN})",
    ]


def pg_drop() -> list[str]:
    return [
        f"DROP INDEX IF EXISTS {PG_INDEX}",
        f"ALTER TABLE captures DROP COLUMN IF EXISTS {PG_COLUMN}",
        f"DROP FUNCTION IF EXISTS {PG_FUNCTION}(text, text, text)",
    ]


# -- building and rebuilding -------------------------------------------------------------


def create_index(conn: Connection) -> None:
    """The index, filled with every capture there is (a migration's step)."""
    statements = sqlite_ddl() if conn.dialect.name == "sqlite" else pg_ddl()
    for statement in statements:
        conn.exec_driver_sql(statement)
    if conn.dialect.name == "sqlite":
        rebuild_index(conn)


def drop_index(conn: Connection) -> None:
    for statement in sqlite_drop() if conn.dialect.name == "sqlite" else pg_drop():
        conn.exec_driver_sql(statement)


def rebuild_index(conn: Connection) -> int:
    """The index made again from the captures' columns; the number of captures in it.

    On PostgreSQL the column is computed with each row, so there is nothing to redo.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('delete-all')")
        conn.exec_driver_sql(
            f"{_FTS_INSERT} SELECT rowid, {_columns('captures')} "
            "FROM captures WHERE full_text IS NOT NULL"
        )
    return int(conn.scalar(text("SELECT count(*) FROM captures WHERE full_text IS NOT NULL")) or 0)


# -- querying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """How a select over ``captures`` finds the rows matching a query, and ranks them:
    ``source`` joined on ``on`` (None: nothing to join), ``where``, ``score`` (the higher
    the better)."""

    source: Any
    on: Any
    where: ColumnElement[bool]
    score: ColumnElement[Any]


def match(dialect: str, query: SearchQuery) -> Match:
    """The query's condition and rank for ``dialect``; user text only in bound values."""
    if dialect == "sqlite":
        fts = table(FTS_TABLE, column("rowid"))
        name: ColumnElement[Any] = literal_column(FTS_TABLE)
        # bm25 is the lower the better: turned round, the score means what ts_rank's does.
        score = literal(0.0) - func.bm25(name, *WEIGHTS)
        return Match(
            source=fts,
            on=fts.c.rowid == literal_column("captures.rowid"),
            where=name.op("MATCH")(literal(fts5_match(query))),
            score=score,
        )
    # PostgreSQL's dialect only for its stores: a twentieth of a second to import
    from sqlalchemy.dialects.postgresql import TSQUERY

    vector: ColumnElement[Any] = literal_column(f"captures.{PG_COLUMN}")
    wanted = cast(literal(tsquery(query)), TSQUERY)
    rank = func.ts_rank(vector, wanted)
    return Match(None, None, vector.op("@@")(wanted), rank)
