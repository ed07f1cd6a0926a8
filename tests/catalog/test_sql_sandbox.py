"""`catalog sql` on the real catalog, tried as an attacker would: every statement that could
write a file, change a setting or reach outside the catalog is refused or fails inside the
sandbox, and none leaves a file behind; every view of the catalog still reads."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from advisor.errors import AdvisorError
from api.cli import cli
from catalog.sandbox import read_only_query


@pytest.fixture(scope="module")
def catalog(built_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of its own: the sandbox opens the file with its own settings, which DuckDB
    refuses while another connection of this process holds it with others."""
    path = tmp_path_factory.mktemp("sandbox") / "catalog.duckdb"
    shutil.copy(built_catalog, path)
    return path


@pytest.fixture
def drop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder an attack aims at (and the working directory, for relative paths)."""
    target = tmp_path / "drop"
    target.mkdir()
    (target / "in.csv").write_text("gpu\nx\n")
    # What IMPORT DATABASE runs: a schema that writes a file and changes a setting.
    plant = target / "plant"
    plant.mkdir()
    (plant / "schema.sql").write_text(
        f"SET threads = 1;\nCOPY (SELECT 42) TO '{target}/imported.csv';\n"
    )
    (plant / "load.sql").write_text("")
    with duckdb.connect(str(target / "other.duckdb")) as other:
        other.execute("create table secret as select 'hidden' as s")
    monkeypatch.chdir(target)
    yield target


def files_under(*folders: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for folder in folders
        for p in sorted(folder.rglob("*"))
    }


ATTACKS = [
    # Statements that write or change something: refused by their type before they run.
    "IMPORT DATABASE '{d}/plant'",
    "COPY (SELECT 1) TO '{d}/copied.csv'",
    "COPY gpu_specs FROM '{d}/in.csv'",
    "EXPORT DATABASE '{d}/exported'",
    "ATTACH '{d}/attached.duckdb' AS a",
    "ATTACH '{d}/other.duckdb' AS o",
    "DETACH catalog",
    "USE memory",
    "SET temp_directory = '{d}'",
    "RESET threads",
    "PRAGMA enable_profiling = 'json'",
    "PRAGMA profile_output = '{d}/profile.json'",
    "CALL enable_logging(storage = 'file', storage_path = '{d}/log')",
    "CALL enable_profiling()",
    "INSTALL httpfs",
    "FORCE INSTALL json",
    "LOAD httpfs",
    "CHECKPOINT",
    "FORCE CHECKPOINT",
    "VACUUM",
    "CREATE TABLE t AS SELECT 1",
    "CREATE TEMP TABLE t AS SELECT 1",
    "CREATE MACRO m() AS 1",
    "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')",
    "PREPARE p AS SELECT 1",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{d}/explained.csv'",
    "DELETE FROM sources",
    "SELECT 1; COPY (SELECT 1) TO '{d}/second.csv'",
    # Reads that would reach outside the catalog: the sandbox stops them as they run.
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "SELECT * FROM read_json('{d}/in.csv')",
    "SELECT * FROM read_parquet('{d}/in.csv')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM 'in.csv'",
    "SELECT * FROM read_duckdb('{d}/other.duckdb')",
    "SELECT * FROM parquet_metadata('{d}/in.csv')",
    "SELECT * FROM enable_logging(storage = 'file', storage_path = '{d}/log2')",
    "SELECT * FROM enable_profiling()",
    "SELECT * FROM add_grammar_extension('x')",
    "SELECT * FROM query('COPY (SELECT 1) TO ''{d}/query.csv''')",
    "SELECT * FROM duckdb_extensions()",
    "SELECT getenv('HOME')",
]


@pytest.mark.parametrize("template", ATTACKS)
def test_an_attack_is_refused_in_one_line_and_writes_nothing(
    catalog: Path, drop: Path, template: str
) -> None:
    before = files_under(drop, catalog.parent)
    with pytest.raises(AdvisorError) as caught:
        read_only_query(catalog, template.format(d=drop))
    assert "\n" not in str(caught.value)
    assert files_under(drop, catalog.parent) == before


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM checkpoint()",
        "SELECT * FROM truncate_duckdb_logs()",
        "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM pragma_database_size()",
    ],
)
def test_table_functions_that_run_do_so_harmlessly(catalog: Path, drop: Path, query: str) -> None:
    before = files_under(drop, catalog.parent)
    read_only_query(catalog, query)
    assert files_under(drop, catalog.parent) == before


def test_the_sandbox_settings_hold(catalog: Path) -> None:
    result = read_only_query(
        catalog,
        "SELECT name, value FROM duckdb_settings() WHERE name IN "
        "('enable_external_access', 'lock_configuration', 'temp_directory', "
        "'python_enable_replacements', 'autoload_known_extensions', 'access_mode')",
    )
    assert dict(result.rows) == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "temp_directory": "",
        "python_enable_replacements": "false",
        "autoload_known_extensions": "false",
        "access_mode": "read_only",
    }


def test_every_table_and_view_of_the_catalog_reads_in_the_sandbox(catalog: Path) -> None:
    names = read_only_query(
        catalog,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "ORDER BY table_name",
    ).rows
    views = {"sync_latency", "async_throughput", "accuracy", "load_points", "text_similarity"}
    assert views <= {name for (name,) in names}
    for (name,) in names:
        result = read_only_query(catalog, f'SELECT * FROM "{name}"', row_limit=5)
        assert result.columns, name


@pytest.fixture
def run(catalog: Path):
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, ["--catalog", str(catalog), *args])


def refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def test_json_writes_nan_and_infinity_as_null(run) -> None:
    result = run(
        "catalog",
        "sql",
        "SELECT 'nan'::double AS a, 'inf'::double AS b, ['-inf'::double, 1.5] AS c, "
        "{'x': 'nan'::float} AS d, 2.5 AS e",
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout, parse_constant=refuse)
    assert rows == [{"a": None, "b": None, "c": [None, 1.5], "d": {"x": None}, "e": 2.5}]


def test_rows_past_the_limit_are_said_to_be_cut(run) -> None:
    result = run("catalog", "sql", "SELECT * FROM range(5)", "--limit", "2", "--csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["range", "0", "1"]
    assert "showing the first 2 rows; the statement has more" in result.stderr
    whole = run("catalog", "sql", "SELECT * FROM range(2)", "--limit", "2", "--csv")
    assert whole.stderr == ""


def test_a_refusal_on_the_command_line_is_one_red_line(run, drop: Path) -> None:
    result = run("catalog", "sql", f"IMPORT DATABASE '{drop}/plant'")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: IMPORT (PRAGMA) statements are refused")
    assert result.stderr.count("\n") == 1 and not (drop / "imported.csv").exists()
