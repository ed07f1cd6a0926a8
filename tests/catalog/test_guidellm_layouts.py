"""GuideLLM 0.2 and 0.3 reports (the first layout, common in 2025 pipelines), on real files
written by guidellm==0.2.1 and guidellm==0.3.1 (tests/fixtures/README.md), and what a refused
layout says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from advisor.errors import ImportRejectedError
from catalog.importers import guidellm
from catalog.importers.common import ImportOptions
from catalog.store import ingest
from tests.conftest import fixture

SYNC_02 = fixture("guidellm", "guidellm-0.2.1-synchronous.json")
POISSON_02 = fixture("guidellm", "guidellm-0.2.1-poisson.json")
SWEEP_03 = fixture("guidellm", "guidellm-0.3.1-sweep.json")
EXTRAS_03 = fixture("guidellm", "guidellm-0.3.1-concurrent-extras.json")
H100 = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)


def benchmarks(path: Path) -> list[dict[str, Any]]:
    document = json.loads(path.read_text())
    assert set(document) == {"benchmarks"}  # the layout: no metadata, no top-level args
    return document["benchmarks"]


@pytest.mark.parametrize("path", [SYNC_02, POISSON_02, SWEEP_03], ids=lambda p: p.name)
def test_values_equal_the_file(path: Path) -> None:
    batch = guidellm.parse_result(path, H100)
    points = batch.runs[0].load_points
    written = benchmarks(path)
    assert len(points) == len(written)
    for point, benchmark in zip(points, written, strict=True):
        metrics = benchmark["metrics"]
        ttft = metrics["time_to_first_token_ms"]["successful"]
        itl = metrics["inter_token_latency_ms"]["successful"]
        latency = metrics["request_latency"]["successful"]
        assert point.strategy == benchmark["args"]["strategy"]["type_"]
        assert point.target_rate == benchmark["args"]["strategy"].get("rate")
        # 0.2.1 prints no p50 among its percentiles: the median is the p50.
        assert point.stats["ttft_ms"].p50 == ttft["percentiles"].get("p50", ttft["median"])
        assert point.stats["ttft_ms"].p99 == ttft["percentiles"]["p99"]
        assert point.stats["itl_ms"].p95 == itl["percentiles"]["p95"]
        assert point.stats["latency_s"].mean == latency["mean"]  # seconds, as written
        assert point.achieved_rps == metrics["requests_per_second"]["successful"]["mean"]
        assert point.successful == benchmark["request_totals"]["successful"]
        assert point.duration_s == benchmark["duration"]
    assert batch.source.tool_version == "0.2-0.3 (not recorded)"
    assert batch.source.details["target"] == written[0]["worker"]["backend_target"]
    assert batch.source.details["served_model"] == "tiny-llama"


def test_synchronous_poisson_and_sweep_strategies() -> None:
    (sync,) = guidellm.parse_result(SYNC_02, H100).runs[0].load_points
    assert (sync.strategy, sync.target_concurrency, sync.successful) == ("synchronous", 1, 6)
    poisson = guidellm.parse_result(POISSON_02, H100).runs[0]
    assert [(p.strategy, p.target_rate) for p in poisson.load_points] == [
        ("poisson", 4.0),
        ("poisson", 8.0),
    ]
    assert (poisson.prefill_tokens, poisson.decode_tokens) == (512, 64)
    sweep = guidellm.parse_result(SWEEP_03, H100).runs[0].load_points
    assert [p.strategy for p in sweep] == ["synchronous", "throughput", "constant"]
    assert sweep[2].target_rate == pytest.approx(8.7795711)


def test_output_extras_label_the_run_as_labels_do_in_08(con: duckdb.DuckDBPyConnection) -> None:
    batch = guidellm.parse_result(EXTRAS_03, ImportOptions(model="8b"))
    run = batch.runs[0]
    assert (run.gpu, run.gpu_count, run.format, run.use_case) == ("h100", 1, "int4", "rag")
    (point,) = run.load_points
    assert (point.strategy, point.target_concurrency) == ("concurrent", 2)
    ingest(con, batch)
    rows = con.execute(
        "SELECT strategy, gpu, format, use_case, prefill_tokens, ttft_p99_ms FROM load_points"
    ).fetchall()
    ttft = benchmarks(EXTRAS_03)[0]["metrics"]["time_to_first_token_ms"]["successful"]
    assert rows == [("concurrent", "h100", "int4", "rag", 1024, ttft["percentiles"]["p99"])]


def test_a_synchronous_02_run_is_a_synchronous_latency(con: duckdb.DuckDBPyConnection) -> None:
    ingest(con, guidellm.parse_result(SYNC_02, H100))
    latency = benchmarks(SYNC_02)[0]["metrics"]["request_latency"]["successful"]["mean"]
    assert con.execute(
        "SELECT latency_s, prefill_tokens, decode_tokens FROM sync_latency "
        "WHERE source LIKE 'guidellm:guidellm-0.2.1%'"
    ).fetchall() == [(latency, 256, 32)]


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(document))
    return path


def test_a_refused_layout_names_the_version_it_detected(tmp_path: Path) -> None:
    newer = {
        "metadata": {"version": 3, "guidellm_version": "0.9.0"},
        "benchmarks": benchmarks(SYNC_02),
    }
    with pytest.raises(
        ImportRejectedError, match=r"detected GuideLLM 0\.9\.0 metadata\.version=3.*0\.2-0\.3"
    ):
        guidellm.parse_result(write(tmp_path, newer), H100)
    bare = {"benchmarks": [{"metrics": {}}]}
    with pytest.raises(ImportRejectedError, match=r"detected no GuideLLM layout.*0\.7-0\.8"):
        guidellm.parse_result(write(tmp_path, bare), H100)


def test_a_first_layout_benchmark_without_a_strategy_is_refused(tmp_path: Path) -> None:
    written = benchmarks(SWEEP_03)
    del written[1]["args"]["strategy"]
    with pytest.raises(ImportRejectedError, match=r"benchmarks\[1\] strategy None"):
        guidellm.parse_result(write(tmp_path, {"benchmarks": written}), H100)
