"""Max QPS read from measured load curves: the real GuideLLM fixtures, then synthetic curves."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.data import LoadPoint, Snapshot
from advisor.errors import InvalidInputError
from advisor.load_curve import (
    CurveKey,
    configurations,
    matches_shape,
    read_curve,
    saturation,
)
from advisor.vocabulary import Binding, Format, Strategy
from catalog.build import open_catalog
from catalog.importers import guidellm
from catalog.importers.common import ImportOptions
from catalog.snapshot import read_snapshot
from catalog.store import ingest
from tests.conftest import fixture

H100 = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)
SHAPE_256_32 = CurveKey("llama-3.1-8b-instruct", Format.BF16, "h100", 1, None, 256, 32)


@pytest.fixture(scope="module")
def imported(built_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> list[LoadPoint]:
    """The load points of every GuideLLM fixture, as the snapshot hands them to the advisor."""
    path = tmp_path_factory.mktemp("curves") / "catalog.duckdb"
    shutil.copy(built_catalog, path)
    con = open_catalog(path)
    try:
        for name in (
            "guidellm-0.8.1-sweep.json",
            "guidellm-0.7.4-poisson.json",
            "guidellm-0.5.4-constant.json",
            "guidellm-0.4.0-synchronous.json",
        ):
            ingest(con, guidellm.parse_result(fixture("guidellm", name), H100))
        labelled = fixture("guidellm", "guidellm-0.8.1-concurrent-labels.json")
        ingest(con, guidellm.parse_result(labelled, ImportOptions(model="8b")))
        return Snapshot.from_rows(read_snapshot(con)).load_points
    finally:
        con.close()


@pytest.fixture(scope="module")
def sweep(imported: list[LoadPoint]) -> list[LoadPoint]:
    """synchronous 3.12/s, constant 12.8/s and 18.2/s, throughput 32.1/s (achieved rates)."""
    found = [p for p in imported if "0.8.1-sweep" in p.source]
    return sorted(found, key=lambda p: p.achieved_rps or 0.0)


def by_strategy(points: list[LoadPoint], strategy: Strategy) -> list[LoadPoint]:
    return [p for p in points if p.strategy == strategy]


def test_a_limit_between_two_points_lands_between_their_rates(sweep: list[LoadPoint]) -> None:
    synchronous, low, high, _ = sweep
    assert (low.strategy, high.strategy) == (Strategy.CONSTANT, Strategy.CONSTANT)
    # The sync point's p99 TTFT is above the 12.8/s point's: the curve is read on its running
    # maximum, so the limit has to clear both to sit between 12.8/s and 18.2/s.
    assert synchronous.ttft_p99_ms and high.ttft_p99_ms
    limit = (synchronous.ttft_p99_ms + high.ttft_p99_ms) / 2
    reading = read_curve(sweep, ttft_limit_ms=limit, percentile=99)
    assert reading is not None and reading.measured and reading.binding == Binding.TTFT
    assert low.achieved_rps and high.achieved_rps
    assert low.achieved_rps < reading.max_qps < high.achieved_rps
    assert reading.points == 4 and reading.source == low.source
    expected = low.achieved_rps + 0.5 * (high.achieved_rps - low.achieved_rps)
    assert reading.max_qps == pytest.approx(expected)


def test_a_lax_limit_gives_the_saturation_rate(sweep: list[LoadPoint]) -> None:
    (throughput,) = by_strategy(sweep, Strategy.THROUGHPUT)
    reading = read_curve(sweep, ttft_limit_ms=10_000, itl_limit_ms=1_000, latency_limit_s=100)
    assert reading is not None and reading.measured and reading.binding == Binding.COMPUTE
    assert reading.max_qps == reading.saturation_qps == throughput.achieved_rps


def test_without_limits_the_answer_is_the_saturation_rate(sweep: list[LoadPoint]) -> None:
    reading = read_curve(sweep)
    assert reading is not None and reading.measured
    assert reading.max_qps == pytest.approx(32.142, abs=1e-3)


def test_an_impossible_limit_gives_zero_measured_at_the_idle_point(
    sweep: list[LoadPoint],
) -> None:
    reading = read_curve(sweep, ttft_limit_ms=1.0)
    assert reading is not None and reading.max_qps == 0.0 and reading.measured
    assert reading.binding == Binding.TTFT


def test_lower_percentiles_allow_more_load(sweep: list[LoadPoint]) -> None:
    answers = {}
    for percentile in (50, 90, 95, 99):
        reading = read_curve(sweep, ttft_limit_ms=55.0, percentile=percentile)
        assert reading is not None
        answers[percentile] = reading.max_qps
    assert answers[50] >= answers[90] >= answers[95] >= answers[99]
    assert answers[50] > answers[99]
    assert answers[99] == 0.0  # the synchronous point's p99 is 55.9 ms


def test_the_sweep_points_are_not_saturated_by_their_short_run(sweep: list[LoadPoint]) -> None:
    # 12 requests at 17.6/s complete at 12.8/s: the drain of the last request, not queueing.
    assert saturation(sweep) == [False, False, False, True]


def test_a_client_side_shortfall_is_not_saturation(imported: list[LoadPoint]) -> None:
    # GuideLLM 0.5.4 issued 8 requests at "4/s" over 4 s: 2/s achieved, at idle-level latency.
    old = [p for p in imported if "0.5.4" in p.source]
    assert all(
        p.achieved_rps and p.target_rate and p.achieved_rps < 0.7 * p.target_rate for p in old
    )
    assert saturation(old) == [False, False]


def test_curves_group_by_configuration_and_shape(imported: list[LoadPoint]) -> None:
    curves = configurations(imported)
    assert len(curves[SHAPE_256_32]) == 4 + 2 + 1  # the sweep, 0.5.4 and 0.4.0 files
    poisson = CurveKey("llama-3.1-8b-instruct", Format.BF16, "h100", 1, None, 512, 64)
    rag = CurveKey("llama-3.1-8b-instruct", Format.INT4, "h100", 1, None, 1024, 128)
    assert set(curves) == {SHAPE_256_32, poisson, rag}


def test_runs_of_one_configuration_read_together(
    imported: list[LoadPoint], sweep: list[LoadPoint]
) -> None:
    merged = configurations(imported)[SHAPE_256_32]
    alone = read_curve(sweep, ttft_limit_ms=58.0)
    together = read_curve(merged, ttft_limit_ms=58.0)
    assert alone is not None and together is not None
    assert together.max_qps == pytest.approx(alone.max_qps) and together.points == 7
    assert together.source.count("guidellm:") == 3


def test_shape_tolerance() -> None:
    p = point(1.0, 50.0, prefill_tokens=256, decode_tokens=32)
    assert matches_shape(p, 256, 32) and matches_shape(p, 270, 30)
    assert not matches_shape(p, 300, 32) and not matches_shape(p, 256, 40)
    assert matches_shape(p, 300, 32, tolerance=0.2)


def point(rate: float, ttft_p99_ms: float | None, **fields: Any) -> LoadPoint:
    """A synthetic constant-rate point served at its target, one request per 0.3 s in flight."""
    values: dict[str, Any] = {
        "model": "m",
        "format": Format.BF16,
        "gpu": "h100",
        "gpu_count": 1,
        "prefill_tokens": 256,
        "decode_tokens": 32,
        "strategy": Strategy.CONSTANT,
        "target_rate": rate,
        "achieved_rps": rate,
        "concurrency": 0.3 * rate,
        "latency_mean_s": 0.3,
        "ttft_p99_ms": ttft_p99_ms,
        "successful": 100,
        "errored": 0,
        "incomplete": 0,
        "source": "synthetic",
        "run_id": 1,
        "benchmark_index": 0,
    }
    return LoadPoint(**(values | fields))


def test_a_noisy_curve_is_read_on_its_running_maximum() -> None:
    # 80 ms at 2/s is noise under the 100 ms at 1/s: the crossing of 120 ms is taken from 100.
    curve = [point(1, 100), point(2, 80), point(3, 150), point(4, 200)]
    reading = read_curve(curve, ttft_limit_ms=120)
    assert reading is not None and reading.measured
    assert reading.max_qps == pytest.approx(2.4)


def test_the_lowest_failure_caps_even_if_the_curve_passes_again() -> None:
    curve = [point(1, 100), point(2, 150), point(3, 90)]
    reading = read_curve(curve, ttft_limit_ms=120)
    assert reading is not None and reading.max_qps == pytest.approx(1.4)


def test_a_curve_that_always_passes_gives_a_lower_bound() -> None:
    reading = read_curve([point(1, 50), point(5, 60)], ttft_limit_ms=1000)
    assert reading is not None and not reading.measured and reading.binding is None
    assert reading.max_qps == 5 and reading.saturation_qps is None


def test_failing_from_the_lowest_loaded_point_is_unknown() -> None:
    # The lightest point already has 3 requests in flight: lighter loads may pass.
    assert read_curve([point(10, 500), point(20, 800)], ttft_limit_ms=100) is None
    idle = point(1, 500, strategy=Strategy.SYNCHRONOUS, target_rate=None, concurrency=1.0)
    reading = read_curve([idle, point(10, 800)], ttft_limit_ms=100)
    assert reading is not None and reading.max_qps == 0 and reading.measured


def test_a_rate_short_of_its_target_while_queueing_is_saturation() -> None:
    # Offered 20/s, served 12/s, with each request twice as long in the system as at 1/s.
    queued = point(20, 90, achieved_rps=12.0, concurrency=7.2, latency_mean_s=0.6)
    curve = [point(1, 50), point(10, 60), queued]
    assert saturation(curve) == [False, False, True]
    reading = read_curve(curve, ttft_limit_ms=1000)
    assert reading is not None and reading.measured and reading.binding == Binding.COMPUTE
    assert reading.max_qps == reading.saturation_qps == 12.0


def test_the_drain_of_a_short_run_is_not_a_shortfall() -> None:
    # 12 requests offered at 30/s, each 0.39 s in flight (batching, not queueing): the window
    # ends with the last request, so 12 / (11 / 30 + 0.39) = 15.9/s completes, half the target.
    achieved = 12 / (11 / 30 + 0.39)
    short = point(30, 60, successful=12, achieved_rps=achieved, latency_mean_s=0.39)
    short = short.model_copy(update={"concurrency": 0.39 * achieved})
    assert saturation([point(1, 50), short]) == [False, False]
    late = short.model_copy(update={"achieved_rps": 0.8 * achieved, "concurrency": 0.8 * 6.2})
    assert saturation([point(1, 50), late]) == [False, True]


def test_concurrency_that_outgrows_the_rate_is_saturation() -> None:
    # A concurrent sweep that plateaus: doubling the streams from 8 to 16 adds 4% rate.
    streams = [(1, 3.0), (2, 5.9), (4, 11.5), (8, 21.0), (16, 21.8), (32, 22.0)]
    curve = [
        point(
            rate,
            40.0 * n,
            strategy=Strategy.CONCURRENT,
            target_rate=None,
            target_concurrency=n,
            concurrency=float(n),
        )
        for n, rate in streams
    ]
    assert saturation(curve) == [False, False, False, False, True, True]
    reading = read_curve(curve, ttft_limit_ms=10_000)
    assert reading is not None and reading.binding == Binding.COMPUTE
    assert reading.max_qps == 21.8 and reading.saturation_qps == 22.0


def test_the_first_limit_crossed_binds() -> None:
    curve = [
        point(1, 100, itl_p99_ms=10, latency_p99_s=1.0),
        point(3, 200, itl_p99_ms=30, latency_p99_s=2.0),
    ]
    reading = read_curve(curve, ttft_limit_ms=180, itl_limit_ms=15, latency_limit_s=5)
    assert reading is not None and reading.binding == Binding.ITL
    assert reading.max_qps == pytest.approx(1.5)
    by_latency = read_curve(curve, latency_limit_s=1.5)
    assert by_latency is not None and by_latency.binding == Binding.LATENCY
    assert by_latency.max_qps == pytest.approx(2.0)


def test_points_without_the_figure_are_unusable_not_passing() -> None:
    curve = [point(1, 100), point(5, None)]
    reading = read_curve(curve, ttft_limit_ms=1000)
    assert reading is not None and reading.points == 1 and reading.max_qps == 1
    assert read_curve(curve, ttft_limit_ms=1000, percentile=90) is None
    assert read_curve([], ttft_limit_ms=1000) is None


def test_a_saturated_point_counts_without_its_figures() -> None:
    throughput = point(8, None, strategy=Strategy.THROUGHPUT, target_rate=None)
    curve = [point(1, 50, ttft_p95_ms=50), point(5, 60, ttft_p95_ms=60), throughput]
    reading = read_curve(curve, ttft_limit_ms=1000, percentile=95)
    assert reading is not None and reading.points == 3 and reading.binding == Binding.COMPUTE
    assert reading.max_qps == reading.saturation_qps == 8


def test_an_unmeasured_percentile_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="accepted: 50, 90, 95, 99"):
        read_curve([point(1, 100)], ttft_limit_ms=1000, percentile=97)


noisy_curves = st.lists(
    st.tuples(st.floats(0.1, 100), st.floats(1, 1000)), min_size=1, max_size=8
).map(lambda pairs: [point(rate, ttft) for rate, ttft in pairs])


@settings(max_examples=200, deadline=None)
@given(curve=noisy_curves, limits=st.tuples(st.floats(1, 1000), st.floats(1, 1000)))
def test_a_tighter_limit_never_allows_more_load(
    curve: list[LoadPoint], limits: tuple[float, float]
) -> None:
    tight, lax = sorted(limits)
    strict, loose = read_curve(curve, ttft_limit_ms=tight), read_curve(curve, ttft_limit_ms=lax)
    if strict is not None:
        assert loose is not None and strict.max_qps <= loose.max_qps + 1e-9
        rates = [p.achieved_rps or 0.0 for p in curve]
        assert 0 <= strict.max_qps <= max(rates)
        if strict.saturation_qps is not None:
            assert strict.max_qps <= strict.saturation_qps
