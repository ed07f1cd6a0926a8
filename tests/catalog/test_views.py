"""The embedded catalog returns every cell of the study's tables, with the study's values."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from advisor.errors import CatalogError
from catalog import db, seed
from catalog.build import open_catalog as connect
from catalog.seed import STUDY_MODELS, printed_number

DATA = Path(__file__).resolve().parents[2] / "data"


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open() as f:
        return list(csv.DictReader(f))


def test_every_synchronous_cell_with_its_values(ro: duckdb.DuckDBPyConnection) -> None:
    got = {
        (m, f, g, n, u): (lat, qpd)
        for m, f, g, n, u, lat, qpd in ro.execute(
            "SELECT model, format, gpu, gpu_count, use_case, latency_s, queries_per_usd "
            "FROM sync_latency WHERE source LIKE 'study:%'"
        ).fetchall()
    }
    want = {
        (STUDY_MODELS[r["model"]], r["format"], r["gpu"], int(r["gpu_count"]), r["use_case"]): (
            float(r["latency_s"]),
            printed_number(r["queries_per_usd"]),
        )
        for r in read("study_sync.csv")
    }
    assert len(got) == len(want) == 108
    assert got == want


def test_every_asynchronous_cell_with_limits(ro: duckdb.DuckDBPyConnection) -> None:
    rows = ro.execute(
        "SELECT block, format, use_case, max_qps, queries_per_usd, ttft_limit_ms, itl_limit_ms "
        "FROM async_throughput WHERE source LIKE 'study:%'"
    ).fetchall()
    assert len(rows) == 120
    got = {(b.split(":")[1], f, u): (q, qpd, t, i) for b, f, u, q, qpd, t, i in rows}
    for r in read("study_async.csv"):
        q, qpd, ttft, itl = got[(r["block"], r["format"], r["use_case"])]
        assert (q, qpd) == (float(r["max_qps"]), printed_number(r["queries_per_usd"]))
        latency_sensitive = r["use_case"] not in {"small_summarization", "large_summarization"}
        assert (ttft, itl) == ((1000.0, 100.0) if latency_sensitive else (None, None))
    # Both blocks the study labels "16xH100" are kept.
    blocks = {b for (b, *_rest) in rows if "16xh100" in b}
    assert blocks == {"table6:405b-16xh100-first", "table6:405b-16xh100-second"}


def test_every_accuracy_cell_with_recovery(ro: duckdb.DuckDBPyConnection) -> None:
    assert ro.execute("SELECT count(*) FROM accuracy WHERE source LIKE 'study:%'").fetchone() == (
        len(read("study_accuracy.csv")),
    )
    # Printed recovery where the study prints one; computed against BF16 otherwise.
    row = ro.execute(
        "SELECT score, baseline_score, recovery_pct FROM accuracy WHERE model = "
        "'llama-3.1-8b-instruct' AND format = 'int4' AND task = 'truthfulqa_mc2' AND source = "
        "'study:table2'"
    ).fetchone()
    assert row == (52.8, 54.5, 96.88)
    row = ro.execute(
        "SELECT baseline_score, round(recovery_pct, 2) FROM accuracy WHERE model = "
        "'llama-3.1-70b-instruct' AND format = 'int4' AND method = 'awq' AND task = 'mmlu' "
        "AND source = 'study:table12'"
    ).fetchone()
    # AWQ rows are compared with the BF16 row of their own table (82.37, not Table 2's 83.8).
    assert row == (82.37, round(100 * 82.15 / 82.37, 2))
    runs = ro.execute(
        "SELECT run_index, score, ci95_low_delta, ci95_high_delta FROM accuracy WHERE source = "
        "'study:table7' AND model = 'llama-3.1-405b-instruct' AND format = 'bf16' ORDER BY 1"
    ).fetchall()
    assert runs == [(1, 67.3, None, None), (2, 67.5, None, None), (None, 67.4, -2.6, 1.9)]


def test_decode_truncated_rows_are_marked(ro: duckdb.DuckDBPyConnection) -> None:
    flagged = ro.execute(
        "SELECT DISTINCT use_case FROM sync_latency "
        "WHERE decode_truncated AND source LIKE 'study:%'"
    ).fetchall()
    assert sorted(flagged) == [("code_completion",), ("code_fixing",)]
    # 34 by the weight-streaming rule, plus the two 405B BF16 code-fixing cells that the linear
    # check of every shape finds at a third of their expected length (data/README.md).
    assert ro.execute(
        "SELECT count(*) FROM sync_latency WHERE decode_truncated AND source LIKE 'study:%'"
    ).fetchone() == (36,)


def test_gpus_and_models_reference(ro: duckdb.DuckDBPyConnection) -> None:
    gpus = {g for (g,) in ro.execute("SELECT gpu FROM gpus").fetchall()}
    assert {
        "a6000",
        "a100",
        "a100-40gb",
        "h100",
        "h100-pcie",
        "h200",
        "l40s",
        "l40",
        "l4",
        "a10g",
        "a5000",
        "b200",
    } <= gpus
    # The default list prices every GPU; the study's list keeps Table 9 (8 x A100: $14.32/h).
    assert ro.execute("SELECT count(*) FROM gpus WHERE usd_per_gpu_hour IS NULL").fetchone() == (0,)
    assert ro.execute(
        "SELECT usd_per_gpu_hour FROM price_points "
        "WHERE price_list = 'lambda-2024-10-28' AND gpu = 'a100'"
    ).fetchone() == (1.79,)
    assert ro.execute(
        "SELECT count(*) FROM gpus WHERE spec_source IS NULL OR spec_source = ''"
    ).fetchone() == (0,)
    models = ro.execute(
        "SELECT model, params_b, layers, kv_heads FROM models WHERE family = 'llama-3.1' ORDER BY 2"
    ).fetchall()
    assert models == [
        ("llama-3.1-8b-instruct", 8.03, 32, 8),
        ("llama-3.1-70b-instruct", 70.55, 80, 8),
        ("llama-3.1-405b-instruct", 405.85, 126, 8),
    ]


@pytest.mark.parametrize(
    ("gpu", "count", "usd"),
    [
        ("a100", 8, 14.32),
        ("a100", 2, 3.58),
        ("a100", 16, 28.64),
        ("h100", 2, 6.38),
        ("h100", 16, 47.84),
        ("h100", 3, 9.27),
        ("a6000", 8, 6.40),
        ("l4", 1, None),
    ],
)
def test_price_of_any_gpu_count(
    ro: duckdb.DuckDBPyConnection, gpu: str, count: int, usd: float | None
) -> None:
    """The study's pricing of counts it did not list, in the study's list."""
    (got,) = ro.execute(
        "SELECT usd_per_hour_in('lambda-2024-10-28', ?, ?)", [gpu, count]
    ).fetchone()
    assert got == (pytest.approx(usd) if usd is not None else None)


def test_reopening_is_idempotent(catalog_file: Path) -> None:
    def counts() -> tuple[int, ...]:
        con = connect(catalog_file)
        try:
            return tuple(
                con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("sources", "runs", "sync_results", "accuracy_results", "model_specs")
            )
        finally:
            con.close()

    assert counts() == counts()


def test_stale_seed_is_rebuilt_and_user_imports_survive(catalog_file: Path) -> None:
    con = connect(catalog_file)
    con.execute("UPDATE catalog_meta SET value = 'old' WHERE key = 'seed_digest'")
    con.execute("DELETE FROM sync_results WHERE latency_s > 10")  # a damaged old build
    con.close()
    ro = connect(catalog_file, read_only=True)
    try:
        assert ro.execute(
            "SELECT count(*) FROM sync_latency WHERE source LIKE 'study:%'"
        ).fetchone() == (108,)
        assert db.meta(ro, "seed_digest") == seed.seed_digest()
    finally:
        ro.close()


def test_a_new_file_is_created_and_filled(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "mine.duckdb"
    con = connect(path, read_only=True)
    try:
        assert con.execute(
            "SELECT count(*) FROM async_throughput WHERE source LIKE 'study:%'"
        ).fetchone() == (120,)
    finally:
        con.close()
    assert path.exists()


def test_read_only_open_of_a_current_catalog_shares_it(built_catalog: Path, tmp_path: Path) -> None:
    copy = tmp_path / "shared.duckdb"
    shutil.copy(built_catalog, copy)
    first = connect(copy, read_only=True)
    second = connect(copy, read_only=True)  # a second reader does not need the write lock
    try:
        study = "SELECT count(*) FROM models WHERE family = 'llama-3.1'"
        assert first.execute(study).fetchone() == (3,)
        assert second.execute(study).fetchone() == (3,)
    finally:
        first.close()
        second.close()


def test_a_foreign_duckdb_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "theirs.duckdb"
    theirs = duckdb.connect(str(path))
    theirs.execute("CREATE TABLE orders (id INTEGER)")
    theirs.close()
    with pytest.raises(CatalogError, match="not an advisor catalog"):
        connect(path)
    theirs = duckdb.connect(str(path), read_only=True)
    tables = theirs.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert tables == [("orders",)]
