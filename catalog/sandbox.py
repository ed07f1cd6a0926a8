"""SQL a person wrote, run against the catalog in a sandbox: one SELECT-class statement, on a
connection that can read the catalog's own tables and views and nothing else, with caps on the
statement's length, its rows, its memory and its time."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from advisor.errors import CatalogError, InvalidInputError, ReadOnlyQueryError
from catalog.db import first_line

ACCEPTED = "SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN"
# DuckDB reads WITH, DESCRIBE, SHOW, SUMMARIZE, VALUES, FROM-first and TABLE as SELECT.
READ_ONLY_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
MAX_QUERY_CHARS = 20_000
DEFAULT_ROW_LIMIT = 10_000
MAX_ROW_LIMIT = 1_000_000
TIME_LIMIT_S = 60.0

# What the sandbox's connection may do. Set when the database opens and locked there: no SET,
# PRAGMA or CALL can change them back (`lock_configuration`).
SANDBOX_CONFIG: dict[str, str | bool] = {
    # No files but the catalog's own (read_csv, COPY, ATTACH, IMPORT DATABASE, logging to a
    # file), no network, no extensions installed or loaded.
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    # Python variables of the calling process are not tables.
    "python_enable_replacements": False,
    # Nothing spills to disk: a query larger than memory fails instead of writing temp files.
    "temp_directory": "",
    "memory_limit": "1GB",
    "lock_configuration": True,
}


@dataclass(frozen=True)
class QueryResult:
    """The first `row_limit` rows of one statement; `truncated` when it had more."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    row_limit: int
    truncated: bool


def connect_sandboxed(path: Path) -> duckdb.DuckDBPyConnection:
    """The catalog file read-only, with nothing outside it reachable (SANDBOX_CONFIG)."""
    try:
        return duckdb.connect(str(path), read_only=True, config=dict(SANDBOX_CONFIG))
    except duckdb.Error as exc:
        raise CatalogError(f"cannot open catalog {path} for SQL: {first_line(exc)}") from exc


def read_only_query(
    path: Path,
    query: str,
    row_limit: int = DEFAULT_ROW_LIMIT,
    time_limit_s: float = TIME_LIMIT_S,
) -> QueryResult:
    """Run one SELECT-class statement on the catalog at `path` in the sandbox. Anything else is
    refused before it runs; what the sandbox stops fails with a one-line error."""
    if not 1 <= row_limit <= MAX_ROW_LIMIT:
        raise InvalidInputError(f"row limit {row_limit}: accepted 1 to {MAX_ROW_LIMIT}")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInputError(
            f"the SQL is {len(query):,} characters long; accepted: up to {MAX_QUERY_CHARS:,}"
        )
    statement = _one_statement(query)
    con = connect_sandboxed(path)
    # DuckDB has no statement timeout: a timer interrupts the connection instead.
    timer = threading.Timer(time_limit_s, con.interrupt)
    timer.start()
    try:
        cursor = con.execute(statement)
        columns = [d[0] for d in cursor.description or []]
        found = cursor.fetchmany(row_limit + 1)
    except duckdb.InterruptException as exc:
        raise InvalidInputError(
            f"SQL ran past {time_limit_s:g} s and was stopped; narrow the query"
        ) from exc
    except (duckdb.PermissionException, duckdb.InvalidInputException) as exc:
        message = first_line(exc)
        if "disabled by configuration" not in message and "has been locked" not in message:
            raise InvalidInputError(f"SQL failed: {message}") from exc
        raise ReadOnlyQueryError(
            f"refused by the sandbox: {message}; `catalog sql` reads the catalog's own tables "
            "and views only (no files, settings or extensions)"
        ) from exc
    except duckdb.Error as exc:
        raise InvalidInputError(f"SQL failed: {first_line(exc)}") from exc
    finally:
        timer.cancel()
        con.close()
    return QueryResult(
        columns=columns,
        rows=found[:row_limit],
        row_limit=row_limit,
        truncated=len(found) > row_limit,
    )


def _one_statement(query: str) -> duckdb.Statement:
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise InvalidInputError(f"SQL does not parse: {first_line(exc)}") from exc
    if not statements:
        raise InvalidInputError("no SQL statement given")
    for statement in statements:
        refused = _refused(statement)
        if refused is not None:
            raise ReadOnlyQueryError(
                f"{_kind_name(refused)} statements are refused: the catalog is read-only here; "
                f"accepted: {ACCEPTED}. Add data with `advisor catalog import` or `add-model`"
            )
    if len(statements) > 1:
        raise InvalidInputError(
            f"{len(statements)} statements given; accepted: one statement at a time"
        )
    (statement,) = statements
    return statement


def _refused(statement: duckdb.Statement) -> duckdb.Statement | None:
    """The statement that makes this one more than a read, or None for a read. EXPLAIN ANALYZE
    runs the statement it explains, so that one is as read-only as the statement."""
    kind = statement.type
    if kind not in READ_ONLY_STATEMENTS:
        return statement
    if kind != duckdb.StatementType.EXPLAIN:
        return None
    analysed = _analysed_sql(statement.query)
    if analysed is None:
        return None
    try:
        inner = duckdb.extract_statements(analysed)
    except duckdb.Error:
        return statement  # what cannot be classified is not run
    return next((s for s in map(_refused, inner) if s is not None), None)


def _kind_name(statement: duckdb.Statement) -> str:
    """DuckDB's type of the statement, with the keyword it starts with where that differs
    (IMPORT DATABASE is a PRAGMA to DuckDB, INSTALL a LOAD)."""
    kind = statement.type.name
    words = _words(statement.query)
    first = words[0][1].upper() if words else kind
    return kind if first == kind else f"{first} ({kind})"


def _words(query: str) -> list[tuple[int, str]]:
    """(offset, lower-case text) of each token but comments, by DuckDB's tokenizer."""
    tokens = duckdb.tokenize(query)
    ends = [start for start, _ in tokens[1:]] + [len(query)]
    return [
        (start, query[start:end].strip().lower())
        for (start, kind), end in zip(tokens, ends, strict=True)
        if kind != duckdb.token_type.comment
    ]


def _analysed_sql(query: str) -> str | None:
    """The statement an `EXPLAIN ANALYZE` (or `EXPLAIN (ANALYZE, ...)`) runs; None for a plain
    EXPLAIN, which only plans. Read with DuckDB's tokenizer, so comments and case don't matter."""
    words = _words(query)
    analyse = {"analyze", "analyse"}
    index = 1  # words[0] is EXPLAIN
    if index < len(words) and words[index][1] in analyse:
        index += 1
    elif index < len(words) and words[index][1] == "(":
        close = next((i for i in range(index, len(words)) if words[i][1] == ")"), len(words))
        if not analyse & {word for _, word in words[index:close]}:
            return None
        index = close + 1
    else:
        return None
    return query[words[index][0] :] if index < len(words) else ""
