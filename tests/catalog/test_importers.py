"""Importers on real files written by GuideLLM 0.8.1 / 0.5.4 and lm-eval 0.4.13."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from catalog.importers import guidellm, lm_eval
from catalog.importers.common import ImportOptions
from catalog.store import ingest
from tests.conftest import fixture

SWEEP = fixture("guidellm", "guidellm-0.8.1-sweep.json")
SWEEP_YAML = fixture("guidellm", "guidellm-0.8.1-sweep.yaml")
LABELLED = fixture("guidellm", "guidellm-0.8.1-concurrent-labels.json")
OLD = fixture("guidellm", "guidellm-0.5.4-constant.json")
OLDEST = fixture("guidellm", "guidellm-0.4.0-synchronous.json")
LM_FULL = fixture("lm_eval", "lm-eval-0.4.13-hf-2shot.json")
LM_LIMIT = fixture("lm_eval", "lm-eval-0.4.13-hf-limit1-chat.json")
TINY = fixture("tiny-llama", "config.json")
H100 = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)


def successful(path: Path, index: int, metric: str) -> dict:
    return json.loads(path.read_text())["benchmarks"][index]["metrics"][metric]["successful"]


def test_guidellm_08_values_equal_the_file(con: duckdb.DuckDBPyConnection) -> None:
    (result,) = ingest(con, guidellm.parse_result(SWEEP, H100))
    assert result.runs == 1 and result.rows == 4
    rows = con.execute(
        "SELECT strategy, target_rate, ttft_p50_ms, ttft_p99_ms, itl_p50_ms, itl_p99_ms, "
        "latency_p50_s, latency_p99_s, achieved_rps, concurrency, output_tokens_per_s, "
        "successful, errored, prefill_tokens, decode_tokens, source "
        "FROM load_points ORDER BY benchmark_index"
    ).fetchall()
    assert [r[0] for r in rows] == ["synchronous", "throughput", "constant", "constant"]
    for index, row in enumerate(rows):
        ttft = successful(SWEEP, index, "time_to_first_token_ms")
        itl = successful(SWEEP, index, "inter_token_latency_ms")
        lat = successful(SWEEP, index, "request_latency")
        assert row[2:8] == (
            ttft["percentiles"]["p50"],
            ttft["percentiles"]["p99"],
            itl["percentiles"]["p50"],
            itl["percentiles"]["p99"],
            lat["percentiles"]["p50"],
            lat["percentiles"]["p99"],
        )
        assert row[8] == successful(SWEEP, index, "requests_per_second")["mean"]
        assert row[13:15] == (256, 32)
        assert row[15].startswith("guidellm:guidellm-0.8.1-sweep.json#")
    assert rows[2][1] == pytest.approx(17.6306645)
    # The synchronous benchmark also shows up as a synchronous latency measurement.
    sync = con.execute(
        "SELECT latency_s, gpu, gpu_count FROM sync_latency WHERE source LIKE 'guidellm:%'"
    ).fetchall()
    assert sync == [(successful(SWEEP, 0, "request_latency")["mean"], "h100", 1)]


def test_guidellm_provenance(con: duckdb.DuckDBPyConnection) -> None:
    ingest(con, guidellm.parse_result(SWEEP, H100))
    tool, version, uri, sha, host, details = con.execute(
        "SELECT tool, tool_version, uri, sha256, host, details FROM sources WHERE kind = 'guidellm'"
    ).fetchone()
    assert (tool, version) == ("guidellm", "0.8.1")
    assert uri == str(SWEEP.resolve()) and len(sha) == 64 and host
    assert json.loads(details)["target"] == "http://127.0.0.1:8901"


def test_guidellm_yaml_reads_like_json() -> None:
    from_json = guidellm.parse_result(SWEEP, H100).runs[0]
    from_yaml = guidellm.parse_result(SWEEP_YAML, H100).runs[0]
    assert from_yaml.load_points == from_json.load_points


def test_guidellm_labels_supply_gpu_format_and_use_case(con: duckdb.DuckDBPyConnection) -> None:
    batch = guidellm.parse_result(LABELLED, ImportOptions(model="8b"))
    run = batch.runs[0]
    assert (run.gpu, run.gpu_count, run.format, run.use_case) == ("h100", 1, "int4", "rag")
    assert run.load_points[0].strategy == "concurrent"
    assert run.load_points[0].target_concurrency == 2
    ingest(con, batch)
    assert con.execute("SELECT use_case, prefill_tokens FROM load_points").fetchone() == (
        "rag",
        1024,
    )


def test_guidellm_05_layout(con: duckdb.DuckDBPyConnection) -> None:
    batch = guidellm.parse_result(OLD, H100)
    assert batch.source.tool_version == "0.5.4"
    points = batch.runs[0].load_points
    assert [(p.strategy, p.target_rate) for p in points] == [("constant", 4.0), ("constant", 8.0)]
    assert points[0].stats["ttft_ms"].p50 == successful(OLD, 0, "time_to_first_token_ms")["median"]
    ingest(con, batch)
    assert con.execute("SELECT count(*) FROM load_points").fetchone() == (2,)


def test_lm_eval_values_equal_the_file(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO model_specs (model, params_b, layers, hidden_size, heads, kv_heads, head_dim,"
        " intermediate_size, vocab_size, tied_embeddings, origin) "
        "VALUES ('tiny-llama', 0.0006, 2, 128, 2, 1, 64, 256, 1024, false, 'user')"
    )
    (result,) = ingest(con, lm_eval.parse_result(LM_FULL, ImportOptions(format="bf16")))
    assert result.rows == 3
    document = json.loads(LM_FULL.read_text())
    rows = con.execute(
        "SELECT task, metric, filter, n_shot, score, stderr, limited, score_unit, suite "
        "FROM accuracy WHERE model = 'tiny-llama' ORDER BY task, metric"
    ).fetchall()
    expected = document["results"]["tiny_mc"]
    assert rows[1] == (
        "tiny_mc",
        "acc",
        "none",
        2,
        100 * expected["acc,none"],
        100 * expected["acc_stderr,none"],
        False,
        "pct",
        "lm-eval",
    )
    assert rows[0][:4] == ("tiny_gen", "exact_match", "strict-match", 2)
    details = json.loads(
        con.execute("SELECT details FROM sources WHERE kind = 'lm-eval'").fetchone()[0]
    )
    assert details["model_args"] == {"pretrained": "/work/tiny-llama", "dtype": "float32"}
    assert details["chat_template"] is False


def test_lm_eval_limit_run_is_flagged_and_na_stderr_is_null() -> None:
    batch = lm_eval.parse_result(LM_LIMIT, ImportOptions(model="8b", format="bf16"))
    rows = batch.runs[0].accuracy
    assert all(r.limited and r.stderr is None for r in rows)
    assert {(r.n_samples, r.n_samples_effective) for r in rows} == {(20, 1), (10, 1)}
    assert batch.runs[0].args["chat_template"] is True


def test_the_same_file_twice_adds_nothing(con: duckdb.DuckDBPyConnection) -> None:
    first = ingest(con, guidellm.parse_result(SWEEP, H100))[0]
    second = ingest(con, guidellm.parse_result(SWEEP, H100))[0]
    assert second.duplicate and second.source_id == first.source_id
    assert con.execute("SELECT count(*) FROM load_points").fetchone() == (4,)


def test_replace_swaps_the_rows(con: duckdb.DuckDBPyConnection) -> None:
    ingest(con, guidellm.parse_result(SWEEP, H100))
    h200 = ImportOptions(model="8b", format="bf16", gpu="h200", gpu_count=2)
    (result,) = ingest(con, guidellm.parse_result(SWEEP, h200), replace=True)
    assert not result.duplicate
    assert con.execute("SELECT DISTINCT gpu, gpu_count FROM load_points").fetchall() == [
        ("h200", 2)
    ]
    assert con.execute("SELECT count(*) FROM latency_stats").fetchone() == (16,)


def test_guidellm_04_layout_without_metadata() -> None:
    batch = guidellm.parse_result(OLDEST, H100)
    assert batch.source.tool_version == "0.4 (not recorded)"
    (point,) = batch.runs[0].load_points
    assert point.strategy == "synchronous" and point.successful == 6
    assert point.stats["latency_s"].mean == successful(OLDEST, 0, "request_latency")["mean"]
    assert (batch.runs[0].prefill_tokens, batch.runs[0].decode_tokens) == (256, 32)


def test_tokens_fall_back_to_measured_means(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    document = json.loads(SWEEP.read_text())
    for spec in document["config"]["spec"]["data"]:
        spec.update(prompt_tokens=None, output_tokens=None)  # as for a data file, not synthetic
    path = tmp_path / "from-a-dataset.json"
    path.write_text(json.dumps(document))
    ingest(con, guidellm.parse_result(path, H100))
    prompt = successful(SWEEP, 0, "prompt_token_count")["mean"]
    got = con.execute(
        "SELECT prefill_tokens, decode_tokens FROM sync_latency WHERE source LIKE 'guidellm:%'"
    ).fetchone()
    assert got == (round(prompt), 32)


def test_guidellm_07_poisson() -> None:
    path = fixture("guidellm", "guidellm-0.7.4-poisson.json")
    batch = guidellm.parse_result(path, H100)
    assert batch.source.tool_version == "0.7.4"
    (point,) = batch.runs[0].load_points
    assert (point.strategy, point.target_rate) == ("poisson", 4.0)
    assert (
        point.stats["itl_ms"].p99
        == successful(path, 0, "inter_token_latency_ms")["percentiles"]["p99"]
    )
    assert (batch.runs[0].prefill_tokens, batch.runs[0].decode_tokens) == (512, 64)
