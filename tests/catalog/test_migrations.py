"""Migrations build the schema recorded in the golden file, once, and refuse edited history."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from advisor.errors import CatalogError
from catalog import db, sqlfiles

GOLDEN = Path(__file__).parent / "golden" / "schema.txt"


def describe_schema(con: duckdb.DuckDBPyConnection) -> str:
    lines = []
    for table, column, kind, nullable, is_view in con.execute(
        """
        SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, t.table_type = 'VIEW'
        FROM information_schema.columns AS c
        JOIN information_schema.tables AS t USING (table_schema, table_name)
        WHERE c.table_schema = 'main'
        ORDER BY t.table_type, c.table_name, c.ordinal_position
        """
    ).fetchall():
        null = "" if is_view or nullable == "YES" else " NOT NULL"
        lines.append(f"{'view' if is_view else 'table'} {table}.{column} {kind}{null}")
    for (name,) in con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'macro' "
        "AND schema_name = 'main' AND NOT internal ORDER BY 1"
    ).fetchall():
        lines.append(f"macro {name}")
    return "\n".join(lines) + "\n"


def test_blank_database_migrates_to_the_golden_schema() -> None:
    con = duckdb.connect()
    applied = db.migrate(con)
    assert applied == [name for _, name, _ in sqlfiles.migrations()]
    schema = describe_schema(con)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(schema)
    assert schema == GOLDEN.read_text()


def test_migrating_twice_applies_nothing_the_second_time() -> None:
    con = duckdb.connect()
    db.migrate(con)
    assert db.migrate(con) == []
    versions = con.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    assert [v for v, _ in versions] == [v for v, _, _ in sqlfiles.migrations()]


def test_an_edited_applied_migration_is_refused() -> None:
    con = duckdb.connect()
    db.migrate(con)
    con.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    with pytest.raises(CatalogError, match="forward-only"):
        db.migrate(con)


def test_public_views_have_the_contracted_columns(ro: duckdb.DuckDBPyConnection) -> None:
    contract = {
        "sync_latency": "model, format, gpu, gpu_count, use_case, prefill_tokens, decode_tokens, "
        "latency_s, queries_per_usd, source",
        "async_throughput": "model, format, gpu, gpu_count, use_case, prefill_tokens, "
        "decode_tokens, max_qps, queries_per_usd, ttft_limit_ms, itl_limit_ms, source",
        "accuracy": "model, format, suite, task, metric, n_shot, score, baseline_score, "
        "recovery_pct, source",
        "gpus": "gpu, memory_gib, mem_bw_gbps, bf16_tflops, fp8_tflops, int8_tops, "
        "usd_per_gpu_hour, price_source",
        "models": "model, hf_id, params_b, layers, hidden_size, heads, kv_heads, "
        "intermediate_size, vocab_size",
        "load_points": "model, format, gpu, gpu_count, prefill_tokens, decode_tokens, strategy, "
        "target_rate, achieved_rps, concurrency, ttft_p50_ms, ttft_p99_ms, itl_p50_ms, "
        "itl_p99_ms, latency_p50_s, latency_p99_s, output_tokens_per_s, successful, errored, "
        "source",
    }
    for view, columns in contract.items():
        names = [d[0] for d in ro.execute(f"SELECT * FROM {view} LIMIT 0").description]
        expected = columns.split(", ")
        assert names[: len(expected)] == expected, view
