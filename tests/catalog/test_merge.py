"""`catalog merge`: two catalogs with overlapping imports (made by the real importers on the
fixtures) merged both ways and twice come out the same, each file once and the embedded rows
not copied; the advice reads the merged rows; a conflict, a poisoned row, a truncated or foreign
file is refused in one line with the catalog unchanged; an export folder merges as its file."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from advisor.architecture import architecture_from_config
from advisor.data import Snapshot
from advisor.errors import AdvisorError, CatalogError, ImportRejectedError
from advisor.service import Advisor, Query
from api.cli import cli
from catalog import queries
from catalog.build import open_catalog
from catalog.importers import guidellm, lm_eval, measurements
from catalog.importers.common import ImportOptions
from catalog.merge import merge
from catalog.model_config import load_config
from catalog.snapshot import read_snapshot
from catalog.store import SEEDED_KINDS, ingest
from tests.catalog.test_sources import every_table
from tests.conftest import fixture

SWEEP = fixture("guidellm", "guidellm-0.8.1-sweep.json")
SWEEP_YAML = fixture("guidellm", "guidellm-0.8.1-sweep.yaml")
CONSTANT = fixture("guidellm", "guidellm-0.5.4-constant.json")
LM_EVAL = fixture("lm_eval", "lm-eval-0.4.13-hf-2shot.json")
TABLE = fixture("measurements", "published-table.csv")
TINY_LLAMA = fixture("tiny-llama")
TINY_QWEN3 = fixture("accuracy", "tiny-qwen3")
L4 = ImportOptions(model="8b", format="bf16", gpu="l4", gpu_count=1)
H100 = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)
SCORES = ImportOptions(model="8b", format="bf16")
TINY_L4 = ImportOptions(model="tiny", format="bf16", gpu="l4", gpu_count=1)

Step = Callable[[duckdb.DuckDBPyConnection], object]


def add_tiny(config: Path, name: str = "tiny", hf_id: str | None = None) -> Step:
    """Add a model from a fixture config, as `catalog add-model --name tiny` does."""

    def add(con: duckdb.DuckDBPyConnection) -> None:
        arch = architecture_from_config(load_config(config), str(config))
        queries.add_model(con, name, arch, hf_id, str(config))

    return add


def imports(parse: Callable[..., Any], path: Path, options: ImportOptions) -> Step:
    return lambda con: ingest(con, parse(path, options))


@pytest.fixture
def make(built_catalog: Path, tmp_path: Path) -> Callable[..., Path]:
    """A catalog file: the embedded one, then the given steps."""

    def build(name: str, *steps: Step) -> Path:
        path = tmp_path / f"{name}.duckdb"
        shutil.copy(built_catalog, path)
        con = open_catalog(path)
        for step in steps:
            step(con)
        con.close()
        return path

    return build


# A and B share the lm-eval results file; each has imports of its own, B a user model too.
def catalog_a(make: Callable[..., Path]) -> Path:
    return make(
        "a",
        imports(guidellm.parse_result, SWEEP, L4),
        imports(lm_eval.parse_result, LM_EVAL, SCORES),
    )


def catalog_b(make: Callable[..., Path], name: str = "b") -> Path:
    return make(
        name,
        imports(lm_eval.parse_result, LM_EVAL, SCORES),
        imports(measurements.parse_result, TABLE, ImportOptions()),
        imports(guidellm.parse_result, SWEEP_YAML, H100),
        add_tiny(TINY_LLAMA),
        imports(guidellm.parse_result, CONSTANT, TINY_L4),
    )


@pytest.fixture
def a(make: Callable[..., Path]) -> Path:
    return catalog_a(make)


@pytest.fixture
def b(make: Callable[..., Path]) -> Path:
    return catalog_b(make)


@pytest.fixture
def opened() -> Iterator[Callable[[Path], duckdb.DuckDBPyConnection]]:
    connections: list[duckdb.DuckDBPyConnection] = []

    def open_(path: Path) -> duckdb.DuckDBPyConnection:
        connections.append(open_catalog(path))
        return connections[-1]

    yield open_
    for con in connections:
        con.close()


def merged(into: Path, other: Path) -> Any:
    con = open_catalog(into)
    try:
        return merge(con, other)
    finally:
        con.close()


def contents(path: Path) -> dict[str, list[str]]:
    """Every public view and the sources, row by row without the catalog's own ids, sorted: two
    catalogs holding the same measurements from the same files are equal here (a file each
    imported on its own keeps its own time)."""
    con = open_catalog(path, read_only=True)
    try:
        found = {}
        for name in (*queries.PUBLIC_VIEWS, "text_similarity", "sources"):
            ids = [
                column
                for (column,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                    "AND column_name IN ('run_id', 'source_id', 'load_point_id', 'imported_at')",
                    [name],
                ).fetchall()
            ]
            exclude = f" EXCLUDE ({', '.join(ids)})" if ids else ""
            rows = con.execute(f"SELECT *{exclude} FROM {name}").fetchall()
            found[name] = sorted(repr(row) for row in rows)
        return found
    finally:
        con.close()


def sha256s(path: Path) -> list[str]:
    con = open_catalog(path, read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT sha256 FROM sources ORDER BY sha256").fetchall()]
    finally:
        con.close()


def unchanged(path: Path) -> tuple[dict[str, int], dict[str, list[str]]]:
    con = open_catalog(path, read_only=True)
    try:
        counts = every_table(con)
    finally:
        con.close()
    return counts, contents(path)


def test_merged_both_ways_and_twice_each_import_is_kept_once(
    a: Path, b: Path, tmp_path: Path
) -> None:
    a_then_b, b_then_a = tmp_path / "ab.duckdb", tmp_path / "ba.duckdb"
    shutil.copy(a, a_then_b)
    shutil.copy(b, b_then_a)
    first = merged(a_then_b, b)
    # B's own three imports and its model are added; the shared lm-eval file is not copied.
    assert sorted(s.kind for s in first.added) == ["guidellm", "guidellm", "measurements"]
    assert [s.kind for s in first.present] == ["lm-eval"]
    assert first.models_added == ["tiny"]
    assert first.embedded_skipped > 0 and first.rows_added == sum(s.rows for s in first.added)
    other = merged(b_then_a, a)
    assert [s.kind for s in other.added] == ["guidellm"] and not other.models_added
    assert contents(a_then_b) == contents(b_then_a)
    # Each file once, the embedded study tables and cards not duplicated.
    shas = sha256s(a_then_b)
    assert len(shas) == len(set(shas)) == len(set(sha256s(a)) | set(sha256s(b)))
    con = open_catalog(a_then_b, read_only=True)
    seeded = con.execute(
        "SELECT count(*) FROM sources WHERE list_contains(?, kind)", [list(SEEDED_KINDS)]
    ).fetchone()
    con.close()
    assert seeded == (first.embedded_skipped,)
    # Twice changes nothing, either way.
    before = unchanged(a_then_b)
    again = merged(a_then_b, b)
    assert not again.added and len(again.present) == 4 and not again.models_added
    assert unchanged(a_then_b) == before
    assert not merged(b_then_a, a).added
    assert contents(b_then_a) == contents(a_then_b)


def test_a_merge_keeps_each_import_s_provenance(a: Path, b: Path) -> None:
    columns = "kind, name, uri, sha256, tool, tool_version, host, imported_at, details"
    query = f"SELECT {columns} FROM sources WHERE NOT list_contains(?, kind) ORDER BY sha256"
    con = open_catalog(b, read_only=True)
    theirs = con.execute(query, [list(SEEDED_KINDS)]).fetchall()
    con.close()
    result = merged(a, b)
    con = open_catalog(a, read_only=True)
    ours = con.execute(query, [list(SEEDED_KINDS)]).fetchall()
    model = con.execute("SELECT origin, source FROM model_specs WHERE model = 'tiny'").fetchone()
    con.close()
    # Each added import as it was there: where it was read, by whom, when, with which tool.
    added = {s.sha256 for s in result.added}
    assert len(added) == 3 and {s for s in theirs if s[3] in added} <= set(ours)
    assert model == ("user", f"merged from {b}")


ASK = {
    "model": "8b",
    "gpu_types": ["h100"],
    "formats": ["bf16"],
    "prefill_tokens": 256,
    "decode_tokens": 32,
    "max_gpus": 1,
    "itl_limit_ms": 100,
    "ttft_limit_ms": 57,
    "min_recovery": 0,
}


def h100_answer(path: Path) -> dict[str, Any]:
    con = open_catalog(path, read_only=True)
    try:
        snapshot = Snapshot.from_rows(read_snapshot(con))
    finally:
        con.close()
    advice = Advisor.fit(snapshot).advise(Query(**ASK))
    options = [advice.recommendation] if advice.recommendation else []
    options += [r.model_dump(mode="json") for r in advice.rejected]
    (one,) = [o for o in options if o and o["gpu_count"] == 1]
    return one


def test_the_advice_reads_the_merged_rows(a: Path, b: Path) -> None:
    # B measured the 8B model on an H100 (the 0.8.1 sweep); A did not.
    assert h100_answer(a)["label"] != "measured"
    merged(a, b)
    after = h100_answer(a)
    assert after["label"] == "measured"
    # Between the sweep's passing 12.8/s point and its failing 18.2/s one.
    assert 12.8 < after["max_qps"] < 18.2


def test_a_parquet_export_merges_as_the_catalog_file_does(a: Path, b: Path, tmp_path: Path) -> None:
    folder = tmp_path / "b-export"
    con = open_catalog(b, read_only=True)
    queries.export(con, folder)
    con.close()
    from_file = tmp_path / "from-file.duckdb"
    shutil.copy(a, from_file)
    by_file = merged(from_file, b)
    by_folder = merged(a, folder)
    assert by_folder.model_dump(exclude={"other"}) == by_file.model_dump(exclude={"other"})
    # The model's source names where it came from; the rest is the same.
    assert contents(a) == contents(from_file)
    before = unchanged(a)
    assert not merged(a, folder).added and not merged(a, b).added
    assert unchanged(a) == before


def test_an_import_with_other_rows_is_refused_and_nothing_is_merged(
    make: Callable[..., Path], a: Path
) -> None:
    # The same sweep file taken for an H100 there, an L4 here; the table would be new.
    other = make(
        "c",
        imports(measurements.parse_result, TABLE, ImportOptions()),
        imports(guidellm.parse_result, SWEEP, H100),
    )
    before = unchanged(a)
    with pytest.raises(ImportRejectedError) as refused:
        merged(a, other)
    message = str(refused.value)
    assert "\n" not in message and "guidellm-0.8.1-sweep.json" in message
    assert "other rows" in message and "h100" in message and "l4" in message
    assert unchanged(a) == before


def test_a_model_defined_differently_is_refused(make: Callable[..., Path]) -> None:
    here = make("here", add_tiny(TINY_QWEN3))
    there = make("there", add_tiny(TINY_LLAMA), imports(guidellm.parse_result, CONSTANT, TINY_L4))
    before = unchanged(here)
    with pytest.raises(ImportRejectedError, match="model tiny is defined differently") as refused:
        merged(here, there)
    assert "\n" not in str(refused.value)
    assert unchanged(here) == before


def test_a_model_that_takes_another_s_hugging_face_id_is_refused(
    make: Callable[..., Path],
) -> None:
    here = make("here", add_tiny(TINY_QWEN3, hf_id="org/tiny"))
    there = make(
        "there",
        add_tiny(TINY_LLAMA, name="tiny-llama", hf_id="org/tiny"),
        imports(
            guidellm.parse_result, CONSTANT, TINY_L4.model_copy(update={"model": "tiny-llama"})
        ),
    )
    before = unchanged(here)
    with pytest.raises(ImportRejectedError, match="org/tiny, which names tiny here"):
        merged(here, there)
    assert unchanged(here) == before


def test_a_refusal_midway_takes_back_what_the_merge_wrote(
    make: Callable[..., Path], a: Path
) -> None:
    """The other catalog's second import names a GPU this one lacks: its first import, already
    written, leaves with it (one transaction)."""

    def odd_gpu(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "INSERT INTO gpu_specs SELECT * REPLACE ('x9' AS gpu) FROM gpu_specs WHERE gpu = 'l4'"
        )

    other = make(
        "odd",
        imports(measurements.parse_result, TABLE, ImportOptions()),
        odd_gpu,
        imports(guidellm.parse_result, CONSTANT, ImportOptions(**{**L4.model_dump(), "gpu": "x9"})),
    )
    before = unchanged(a)
    with pytest.raises(AdvisorError, match="x9"):
        merged(a, other)
    assert unchanged(a) == before


POISONS = {
    # Longer than a day: the bound every import holds a latency to.
    "latency": ("UPDATE sync_results SET latency_s = 1e7 WHERE latency_s IS NOT NULL", "latency_s"),
    # Percentiles out of order.
    "percentiles": ("UPDATE latency_stats SET p50 = p99 * 2", "p50"),
    # A score of 150 %.
    "score": ("UPDATE accuracy_results SET score = 150 WHERE score_unit = 'pct'", "score"),
}


@pytest.mark.parametrize(
    ("poison", "shape"),
    [("latency", "file"), ("percentiles", "file"), ("score", "folder")],
    ids=["latency-file", "percentiles-file", "score-folder"],
)
def test_a_poisoned_row_is_refused_in_one_line(
    a: Path, b: Path, tmp_path: Path, poison: str, shape: str
) -> None:
    statement, field = POISONS[poison]
    con = duckdb.connect(str(b))
    con.execute(
        f"{statement} AND run_id IN (SELECT run_id FROM runs JOIN sources USING (source_id) "
        "WHERE NOT list_contains(['study', 'card'], kind))"
        if "WHERE" in statement
        else statement
    )
    con.close()
    other = b
    if shape == "folder":
        other = tmp_path / "poisoned"
        con = open_catalog(b, read_only=True)
        queries.export(con, other)
        con.close()
    before = unchanged(a)
    with pytest.raises(ImportRejectedError) as refused:
        merged(a, other)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(str(other)) and field in message
    assert unchanged(a) == before


def test_a_truncated_foreign_or_missing_catalog_is_refused_in_one_line(
    a: Path, b: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(b.read_bytes()[: b.stat().st_size // 2])
    foreign = tmp_path / "foreign.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database\n")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "sources.parquet").write_bytes(b"PAR1")
    cases = {
        cut: "cannot be read",
        foreign: "not an advisor catalog",
        text: "cannot open",
        partial: "not a catalog export",
    }
    before = unchanged(a)
    for path, expected in cases.items():
        with pytest.raises(CatalogError) as refused:
            merged(a, path)
        assert expected in str(refused.value) and "\n" not in str(refused.value), path
    assert unchanged(a) == before


def test_the_command_line_merges_and_says_what_it_did(a: Path, b: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--catalog", str(a), "catalog", "merge", *args])

    done = run(str(b))
    assert done.exit_code == 0, done.output
    lines = done.stdout.strip().splitlines()
    assert sum(line.startswith("added ") for line in lines) == 3
    assert sum(line.startswith("already present lm-eval:") for line in lines) == 1
    assert lines[-1].startswith(f"merged {b}: 3 source(s) added (")
    assert lines[-1].endswith("models added: tiny")
    again = json.loads(run(str(b), "--json").stdout)
    assert again["sources_added"] == again["rows_added"] == 0 and again["sources_present"] == 4
    assert set(again) == {
        "other", "added", "present", "embedded_skipped", "models_added",
        "sources_added", "sources_present", "runs_added", "rows_added",
    }  # fmt: skip
    itself = run(str(a))
    assert itself.exit_code == 1 and "is this catalog" in itself.stderr
    assert len(itself.stderr.strip().splitlines()) == 1


def test_an_export_edited_past_what_a_catalog_allows_is_refused(
    a: Path, b: Path, tmp_path: Path
) -> None:
    """A Parquet file has no CHECK constraints: an export can hold what no catalog can."""
    folder = tmp_path / "edited"
    con = open_catalog(b, read_only=True)
    queries.export(con, folder)
    con.close()
    stats = folder / "latency_stats.parquet"
    edited = duckdb.connect()
    edited.read_parquet(str(stats)).project("* REPLACE ('ttfb_ms' AS metric)").write_parquet(
        str(folder / "edited.parquet")
    )
    edited.close()
    (folder / "edited.parquet").replace(stats)
    before = unchanged(a)
    with pytest.raises(ImportRejectedError, match="unknown distribution 'ttfb_ms'"):
        merged(a, folder)
    assert unchanged(a) == before
