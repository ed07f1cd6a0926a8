"""User SQL: DuckDB classifies each statement, and only one read runs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from advisor.errors import InvalidInputError, ReadOnlyQueryError
from catalog.sandbox import MAX_QUERY_CHARS, read_only_query


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "t.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create table t as select range as x from range(3)")
    return path


def count(db: Path, query: str) -> object:
    with duckdb.connect(str(db), read_only=True) as connection:
        row = connection.execute(query).fetchone()
    return None if row is None else row[0]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("select count(*) as n from t", (["n"], [(3,)])),
        ("with a as (select max(x) as m from t) select m from a", (["m"], [(2,)])),
        ("from t where x = 1", (["x"], [(1,)])),
        ("select 2 as b;", (["b"], [(2,)])),
    ],
)
def test_reads_run(db: Path, query: str, expected: tuple[list[str], list[tuple[int]]]) -> None:
    result = read_only_query(db, query)
    assert (result.columns, result.rows) == expected and not result.truncated


@pytest.mark.parametrize(
    "query",
    [
        "describe t",
        "show tables",
        "summarize t",
        "explain select * from t",
        "explain analyze select * from t",
        "EXPLAIN (FORMAT json) select 1",
        "values (1), (2)",
        "table t",
        "select * from pragma_table_info('t')",
    ],
)
def test_every_accepted_kind_runs(db: Path, query: str) -> None:
    assert read_only_query(db, query).columns


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
        ("begin", r"BEGIN \(TRANSACTION\)"),
        ("load json", "LOAD"),
        ("install json", r"INSTALL \(LOAD\)"),
        ("import database '/nowhere'", r"IMPORT \(PRAGMA\)"),
        ("pragma version", "PRAGMA"),
        ("call pragma_version()", "CALL"),
        ("with a as (select 1) insert into t select * from a", r"WITH \(INSERT\)"),
    ],
)
def test_everything_but_a_read_is_refused_by_its_type_before_it_runs(
    db: Path, query: str, kind: str
) -> None:
    with pytest.raises(ReadOnlyQueryError, match=f"^{kind} statements are refused"):
        read_only_query(db, query)
    assert count(db, "select count(*) from t") == 3
    assert count(db, "select count(*) from duckdb_tables() where table_name = 'u'") == 0


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
    db: Path, tmp_path: Path, template: str
) -> None:
    # EXPLAIN ANALYZE executes its statement: a COPY inside it would write the file.
    target = tmp_path / "leak.csv"
    with pytest.raises(ReadOnlyQueryError, match=r"^COPY statements are refused"):
        read_only_query(db, template.format(path=target))
    assert not target.exists()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "no SQL statement given"),
        ("-- nothing", "no SQL statement given"),
        ("selec 1", "SQL does not parse"),
        ("select nope", "SQL failed"),
        ("select 1; select 2", "2 statements given; accepted: one statement at a time"),
        ("select 1" + " " * MAX_QUERY_CHARS, f"accepted: up to {MAX_QUERY_CHARS:,}"),
    ],
)
def test_bad_sql_is_one_line_of_invalid_input(db: Path, query: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        read_only_query(db, query)
    assert "\n" not in str(caught.value)


def test_rows_past_the_limit_are_cut_and_said_to_be(db: Path) -> None:
    cut = read_only_query(db, "select * from range(10)", row_limit=4)
    assert cut.rows == [(0,), (1,), (2,), (3,)] and cut.truncated
    whole = read_only_query(db, "select * from range(4)", row_limit=4)
    assert len(whole.rows) == 4 and not whole.truncated
    with pytest.raises(InvalidInputError, match="row limit 0: accepted 1 to"):
        read_only_query(db, "select 1", row_limit=0)


def test_a_statement_past_the_time_limit_is_stopped(db: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"ran past 0\.2 s and was stopped"):
        read_only_query(db, "select count(*) from range(1e15::bigint)", time_limit_s=0.2)
