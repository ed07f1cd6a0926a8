"""GuideLLM sub-benchmarks reach the snapshot with their percentiles, and move its digest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from advisor.data import Snapshot
from advisor.vocabulary import Format, Strategy
from catalog.importers import guidellm
from catalog.importers.common import ImportOptions
from catalog.snapshot import read_snapshot
from catalog.store import ingest
from tests.conftest import fixture

H100 = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)
SWEEP = fixture("guidellm", "guidellm-0.8.1-sweep.json")
FILES = {
    "guidellm-0.8.1-sweep.json": 4,
    "guidellm-0.7.4-poisson.json": 1,
    "guidellm-0.5.4-constant.json": 2,
    "guidellm-0.4.0-synchronous.json": 1,
}


def successful(path: Path, index: int, metric: str) -> dict[str, Any]:
    benchmark = json.loads(path.read_text())["benchmarks"][index]
    found: dict[str, Any] = benchmark["metrics"][metric]["successful"]
    return found


def read(con: duckdb.DuckDBPyConnection) -> Snapshot:
    return Snapshot.from_rows(read_snapshot(con))


def test_the_embedded_catalog_has_no_load_points_yet(snapshot: Snapshot) -> None:
    assert snapshot.load_points == []


def test_every_imported_sub_benchmark_arrives(con: duckdb.DuckDBPyConnection) -> None:
    for name in FILES:
        ingest(con, guidellm.parse_result(fixture("guidellm", name), H100))
    labelled = fixture("guidellm", "guidellm-0.8.1-concurrent-labels.json")
    ingest(con, guidellm.parse_result(labelled, ImportOptions(model="8b")))
    points = read(con).load_points
    by_file = {name: [p for p in points if name in p.source] for name in FILES}
    assert {name: len(found) for name, found in by_file.items()} == FILES
    assert len(points) == sum(FILES.values()) + 1
    (concurrent,) = [p for p in points if p.strategy == Strategy.CONCURRENT]
    assert (concurrent.format, concurrent.use_case, concurrent.target_concurrency) == (
        Format.INT4,
        "rag",
        2,
    )
    (poisson,) = by_file["guidellm-0.7.4-poisson.json"]
    assert (poisson.strategy, poisson.target_rate) == (Strategy.POISSON, 4.0)
    assert (poisson.prefill_tokens, poisson.decode_tokens) == (512, 64)


def test_the_sweep_keeps_every_percentile(con: duckdb.DuckDBPyConnection) -> None:
    ingest(con, guidellm.parse_result(SWEEP, H100))
    points = sorted(read(con).load_points, key=lambda p: p.benchmark_index)
    assert [p.strategy for p in points] == ["synchronous", "throughput", "constant", "constant"]
    for index, point in enumerate(points):
        ttft = successful(SWEEP, index, "time_to_first_token_ms")
        itl = successful(SWEEP, index, "inter_token_latency_ms")
        latency = successful(SWEEP, index, "request_latency")
        for q in ("p50", "p90", "p95", "p99"):
            assert getattr(point, f"ttft_{q}_ms") == ttft["percentiles"][q]
            assert getattr(point, f"itl_{q}_ms") == itl["percentiles"][q]
            assert getattr(point, f"latency_{q}_s") == latency["percentiles"][q]
        assert point.ttft_mean_ms == ttft["mean"]
        assert point.latency_mean_s == latency["mean"]
        assert point.achieved_rps == successful(SWEEP, index, "requests_per_second")["mean"]
        assert (point.model, point.gpu, point.gpu_count) == ("llama-3.1-8b-instruct", "h100", 1)
        assert (point.prefill_tokens, point.decode_tokens) == (256, 32)
        assert point.successful == 12 and point.errored == 0
    assert points[2].target_rate == pytest.approx(17.6306645)


def test_an_import_moves_the_digest_and_the_order_is_fixed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    before = read_snapshot(con)["digest"]
    ingest(con, guidellm.parse_result(SWEEP, H100))
    first, again = read_snapshot(con), read_snapshot(con)
    assert first["digest"] != before
    assert first["load_points"] == again["load_points"] and first["digest"] == again["digest"]
    # The same content under another GPU is another snapshot.
    h200 = ImportOptions(model="8b", format="bf16", gpu="h200", gpu_count=1)
    ingest(con, guidellm.parse_result(SWEEP, h200), replace=True)
    assert read_snapshot(con)["digest"] not in (before, first["digest"])


def test_rows_without_a_gpu_are_left_out(con: duckdb.DuckDBPyConnection) -> None:
    ingest(con, guidellm.parse_result(SWEEP, H100))
    ingest(con, guidellm.parse_result(fixture("guidellm", "guidellm-0.5.4-constant.json"), H100))
    run_ids = con.execute(
        "SELECT DISTINCT run_id FROM load_points WHERE source LIKE '%0.5.4%'"
    ).fetchall()
    (run_id,) = (row[0] for row in run_ids)
    con.execute("UPDATE runs SET gpu = NULL, gpu_count = NULL WHERE run_id = ?", [run_id])
    points = read(con).load_points
    assert len(points) == 4 and all("0.8.1-sweep" in p.source for p in points)


def test_a_cached_document_without_load_points_still_reads(snapshot: Snapshot) -> None:
    document = snapshot.model_dump(mode="json", by_alias=True, exclude={"load_points"})
    assert Snapshot.model_validate(document).load_points == []
