"""User SQL: DuckDB classifies each statement, and only reads run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from advisor.errors import InvalidInputError, ReadOnlyQueryError
from catalog.queries import read_only_query


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("create table t as select range as x from range(3)")
    yield connection
    connection.close()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("select count(*) as n from t", (["n"], [(3,)])),
        ("with a as (select max(x) as m from t) select m from a", (["m"], [(2,)])),
        ("from t where x = 1", (["x"], [(1,)])),
        ("select 1 as a; select 2 as b", (["b"], [(2,)])),
    ],
)
def test_reads_run_and_the_last_statement_answers(
    con: duckdb.DuckDBPyConnection, query: str, expected: tuple[list[str], list[tuple[int]]]
) -> None:
    assert read_only_query(con, query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "describe t",
        "show tables",
        "summarize t",
        "explain select * from t",
        "explain analyze select * from t",
        "EXPLAIN (FORMAT json) select 1",
        "pragma version",
        "call pragma_version()",
    ],
)
def test_every_accepted_kind_runs(con: duckdb.DuckDBPyConnection, query: str) -> None:
    columns, _ = read_only_query(con, query)
    assert columns


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("drop table t", "DROP"),
        ("delete from t", "DELETE"),
        ("insert into t values (9)", "INSERT"),
        ("update t set x = 0", "UPDATE"),
        ("create table u (y int)", "CREATE"),
        ("select 1; drop table t", "DROP"),
        ("attach ':memory:' as other", "ATTACH"),
        ("set threads = 1", "SET"),
        ("begin", "TRANSACTION"),
        ("load json", "LOAD"),
    ],
)
def test_writes_are_refused_by_their_type_before_anything_runs(
    con: duckdb.DuckDBPyConnection, query: str, kind: str
) -> None:
    with pytest.raises(ReadOnlyQueryError, match=f"^{kind} statements are refused"):
        read_only_query(con, query)
    assert con.execute("select count(*) from t").fetchone() == (3,)
    assert con.execute(
        "select count(*) from duckdb_tables() where table_name = 'u'"
    ).fetchone() == (0,)


@pytest.mark.parametrize(
    "template",
    [
        "explain analyze copy (select 1) to '{path}'",
        "EXPLAIN ANALYSE /* why */ COPY (select 1) TO '{path}'",
        "explain (analyze, format json) copy (select 1) to '{path}'",
        "select 1; explain analyze copy (select 1) to '{path}'",
    ],
)
def test_explain_analyze_is_as_read_only_as_what_it_runs(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, template: str
) -> None:
    # EXPLAIN ANALYZE executes its statement: a COPY inside it would write the file.
    target = tmp_path / "leak.csv"
    with pytest.raises(ReadOnlyQueryError, match=r"^COPY statements are refused"):
        read_only_query(con, template.format(path=target))
    assert not target.exists()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "no SQL statement given"),
        ("selec 1", "SQL does not parse"),
        ("select nope", "SQL failed"),
    ],
)
def test_bad_sql_is_invalid_input(con: duckdb.DuckDBPyConnection, query: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        read_only_query(con, query)
