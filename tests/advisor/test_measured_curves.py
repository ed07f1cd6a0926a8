"""An imported GuideLLM sweep (the real 0.8.1 fixture) changes the advice for its
configuration: the max QPS is read from the measured curve and labelled measured."""

from __future__ import annotations

import duckdb
import pytest

from advisor.data import Snapshot
from advisor.fidelity import load_curve_fidelity
from advisor.service import Advisor, Query
from catalog.importers import guidellm
from catalog.importers.common import ImportOptions
from catalog.snapshot import read_snapshot
from catalog.store import ingest
from tests.conftest import fixture

SWEEP = fixture("guidellm", "guidellm-0.8.1-sweep.json")
# The sweep's points: synchronous 3.1/s, constant 12.8/s (p99 TTFT 53.5 ms) and 18.2/s
# (60.2 ms), throughput 32.1/s (66.6 ms), all at 256 in / 32 out.
ASK = {
    "model": "8b",
    "gpu_types": ["h100"],
    "formats": ["bf16"],
    "prefill_tokens": 256,
    "decode_tokens": 32,
    "max_gpus": 1,
    "itl_limit_ms": 100,
    "min_recovery": 0,
}


def answer(snapshot: Snapshot, **extra: object) -> dict[str, object]:
    advice = Advisor.fit(snapshot).advise(Query(**{**ASK, **extra}))
    options = [advice.recommendation] if advice.recommendation else []
    options += [r.model_dump(mode="json") for r in advice.rejected]
    (one,) = [o for o in options if o and o["gpu_count"] == 1]
    return one


def test_an_imported_sweep_sets_the_max_qps_and_says_measured(
    con: duckdb.DuckDBPyConnection,
) -> None:
    before = answer(Snapshot.from_rows(read_snapshot(con)), ttft_limit_ms=57)
    options = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)
    ingest(con, guidellm.parse_result(SWEEP, options))
    snapshot = Snapshot.from_rows(read_snapshot(con))
    after = answer(snapshot, ttft_limit_ms=57)
    assert before["label"] != "measured"
    assert after["label"] == "measured"
    # Between the passing 12.8/s point and the failing 18.2/s one, where p99 TTFT is 57 ms.
    assert 12.8 < after["max_qps"] < 18.2
    assert after["max_qps"] != pytest.approx(before["max_qps"], rel=0.01)
    assert after["binding_constraint"] == "ttft"
    # Its figures at the operating point agree with the measurement: at the TTFT limit.
    assert after["operating_qps"] == pytest.approx(after["max_qps"])
    assert after["ttft_ms"] == pytest.approx(57, rel=0.01)
    # Another percentile reads another point of the same curve.
    median = answer(snapshot, ttft_limit_ms=57, percentile=50)
    assert median["max_qps"] >= after["max_qps"]
    # Without limits the curve's throughput point is the answer.
    free = answer(snapshot, itl_limit_ms=None, ttft_limit_ms=None, use_case=None)
    assert free["max_qps"] > after["max_qps"]


def test_a_curve_that_misses_the_limits_at_every_rate_is_not_replaced_by_the_model(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Under a 55 ms TTFT limit even the sweep's synchronous point (55.9 ms) fails: measured,
    nothing meets the limits. The answer says so rather than showing the model's rate."""
    options = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)
    ingest(con, guidellm.parse_result(SWEEP, options))
    missed = answer(Snapshot.from_rows(read_snapshot(con)), ttft_limit_ms=55)
    assert missed["label"] == "measured"
    assert missed["max_qps"] == 0.0
    assert missed["reason"] == "throughput"
    assert "cannot meet the limits at any load" in missed["detail"]


def test_the_load_curve_figure_predicts_each_point_from_the_others(
    con: duckdb.DuckDBPyConnection, fitted: Advisor
) -> None:
    options = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)
    ingest(con, guidellm.parse_result(SWEEP, options))
    snapshot = Snapshot.from_rows(read_snapshot(con))
    p = fitted.predictor
    found = load_curve_fidelity(snapshot, p.sync_params_, p.load_params_, p.engine_)
    # The throughput point is saturated: three points are predicted, each from the other two.
    assert found["curves"] == 1
    assert found["ttft_p99"]["n"] == found["itl_p99"]["n"] == 3
    assert found["itl_p99"]["median_ape_pct"] is not None
