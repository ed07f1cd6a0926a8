"""Undo: the sources listing and the removal of an import, on a real DuckDB file. A removal
takes every dependent row out in one transaction and leaves the catalog as it was before the
import; the embedded study tables and model cards cannot be removed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from advisor.errors import InvalidInputError
from api.cli import cli
from api.runtime import load_snapshot
from api.settings import Settings
from catalog import store
from catalog.build import open_catalog
from catalog.importers import guidellm, lm_eval, measurements
from catalog.importers.common import ImportOptions
from catalog.store import SEEDED_KINDS, ingest, remove_source, sources
from tests.conftest import fixture

SWEEP = fixture("guidellm", "guidellm-0.8.1-sweep.json")
LM_EVAL = fixture("lm_eval", "lm-eval-0.4.13-hf-2shot.json")
TABLE = fixture("measurements", "published-table.csv")
L4 = ImportOptions(model="8b", format="bf16", gpu="l4", gpu_count=1)


def every_table(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table, whatever tables a later migration adds."""
    names = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()
    return {
        name: int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # type: ignore[index]
        for (name,) in names
    }


def keys_of(con: duckdb.DuckDBPyConnection, source_id: int) -> dict[str, list[int]]:
    """The ids by which rows depend on a source."""
    runs = [
        r[0]
        for r in con.execute("SELECT run_id FROM runs WHERE source_id = ?", [source_id]).fetchall()
    ]
    points = [
        r[0]
        for r in con.execute(
            "SELECT load_point_id FROM benchmarks WHERE list_contains(?, run_id)", [runs]
        ).fetchall()
    ]
    return {"source_id": [source_id], "run_id": runs, "load_point_id": points}


def orphans(con: duckdb.DuckDBPyConnection, keys: dict[str, list[int]]) -> list[str]:
    """Tables still holding a row by one of `keys`, found by their source_id, run_id and
    load_point_id columns (whatever tables a later migration adds)."""
    columns = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() "
        "AND column_name IN ('source_id', 'run_id', 'load_point_id') AND NOT internal"
    ).fetchall()
    left = []
    for table, column in columns:
        found = con.execute(
            f'SELECT count(*) FROM "{table}" WHERE list_contains(?, "{column}")', [keys[column]]
        ).fetchone()
        if found and found[0]:
            left.append(f"{table}.{column}")
    return left


def test_sources_list_every_import_with_its_rows(con: duckdb.DuckDBPyConnection) -> None:
    (sweep,) = ingest(con, guidellm.parse_result(SWEEP, L4))
    (scores,) = ingest(con, lm_eval.parse_result(LM_EVAL, ImportOptions(model="8b", format="bf16")))
    (table,) = ingest(con, measurements.parse_result(TABLE))
    listed = {s["id"]: s for s in sources(con)}
    for result, kind, path in (
        (sweep, "guidellm", SWEEP),
        (scores, "lm-eval", LM_EVAL),
        (table, "measurements", TABLE),
    ):
        source = listed[result.source_id]
        assert (source["kind"], source["file"]) == (kind, str(path.resolve()))
        assert (source["runs"], source["rows"]) == (result.runs, result.rows)
        assert source["removable"] is True and len(source["sha256"]) == 64
    seeded = [s for s in listed.values() if s["kind"] in SEEDED_KINDS]
    assert seeded and not any(s["removable"] for s in seeded)
    assert {s["kind"] for s in seeded} == {"study", "card"}
    # The study's tables are sources like the imports, with their counts.
    sync = next(s for s in seeded if s["name"] == "study_sync.csv")
    assert sync["rows"] == 108


@pytest.mark.parametrize(
    ("path", "options"),
    [
        (SWEEP, L4),
        (LM_EVAL, ImportOptions(model="8b", format="bf16")),
        (TABLE, ImportOptions()),
    ],
    ids=["guidellm", "lm-eval", "measurements"],
)
def test_a_removal_leaves_the_catalog_as_it_was_before_the_import(
    con: duckdb.DuckDBPyConnection, path: Path, options: ImportOptions
) -> None:
    parse = {SWEEP: guidellm, LM_EVAL: lm_eval, TABLE: measurements}[path].parse_result
    before = every_table(con)
    (result,) = ingest(con, parse(path, options))
    keys = keys_of(con, result.source_id)
    assert keys["run_id"] and orphans(con, keys) and every_table(con) != before
    removed = remove_source(con, result.source_id)
    assert (removed["id"], removed["rows"], removed["runs"]) == (
        result.source_id,
        result.rows,
        result.runs,
    )
    assert orphans(con, keys) == []
    assert every_table(con) == before
    # Gone for good: the same file imports again as new.
    (again,) = ingest(con, parse(path, options))
    assert not again.duplicate and again.rows == result.rows


def test_the_embedded_sources_and_unknown_ids_are_refused(
    con: duckdb.DuckDBPyConnection,
) -> None:
    before = every_table(con)
    study = next(s for s in sources(con) if s["kind"] == "study")
    card = next(s for s in sources(con) if s["kind"] == "card")
    for seeded in (study, card):
        with pytest.raises(InvalidInputError, match=r"is embedded \w+ data, .* cannot be removed"):
            remove_source(con, seeded["id"])
    with pytest.raises(InvalidInputError, match="no source 99999 in the catalog"):
        remove_source(con, 99999)
    assert every_table(con) == before


def test_a_removal_that_fails_half_way_removes_nothing(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    (result,) = ingest(con, guidellm.parse_result(SWEEP, L4))
    after_import = every_table(con)
    real = store.execute_script

    def fail_after_the_first_statement(con: Any, text: str, params: dict[str, Any]) -> None:
        first = con.extract_statements(text)[0]
        con.execute(first, {k: v for k, v in params.items() if k in first.named_parameters})
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "execute_script", fail_after_the_first_statement)
    with pytest.raises(RuntimeError, match="disk full"):
        remove_source(con, result.source_id)
    monkeypatch.setattr(store, "execute_script", real)
    assert every_table(con) == after_import


def test_the_next_answer_forgets_a_removed_import(catalog_file: Path, tmp_path: Path) -> None:
    settings = Settings(catalog=catalog_file, model_cache=tmp_path / "models")
    original = load_snapshot(settings).digest
    con = open_catalog(catalog_file)
    (result,) = ingest(con, guidellm.parse_result(SWEEP, L4))
    con.close()
    imported = load_snapshot(settings)
    assert imported.digest != original
    assert any(p.gpu == "l4" and p.model == "llama-3.1-8b-instruct" for p in imported.load_points)
    con = open_catalog(catalog_file)
    remove_source(con, result.source_id)
    con.close()
    # The snapshot copy beside the fitted models is keyed by the catalog file: it is reread.
    assert load_snapshot(settings).digest == original


@pytest.fixture
def run(catalog_file: Path):
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, ["--catalog", str(catalog_file), *args])


def test_the_command_line_lists_and_removes(run) -> None:
    imported = run(
        "catalog", "import", "guidellm", str(SWEEP),
        "--model", "8b", "--format", "bf16", "--gpu", "l4", "--gpus", "1",
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    listed = json.loads(run("catalog", "sources", "--json").stdout)
    (mine,) = [s for s in listed if s["kind"] == "guidellm"]
    assert set(mine) == {
        "id", "kind", "name", "file", "sha256", "tool", "imported_at", "runs", "rows", "removable",
    }  # fmt: skip
    assert mine["file"] == str(SWEEP.resolve()) and mine["rows"] == 4
    table = run("catalog", "sources")
    assert table.exit_code == 0 and mine["sha256"][:12] in table.stdout
    removed = run("catalog", "remove", str(mine["id"]))
    assert removed.exit_code == 0, removed.output
    assert (
        removed.stdout.strip()
        == f"removed source {mine['id']} ({SWEEP.resolve()}): 4 rows in 1 run(s)"
    )
    assert [
        s for s in json.loads(run("catalog", "sources", "--json").stdout) if s["kind"] == "guidellm"
    ] == []
    refused = run("catalog", "remove", "1")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: source 1 (study_sync.csv) is embedded study data")
    assert run("catalog", "remove", "nope").exit_code == 2  # click: not an integer
