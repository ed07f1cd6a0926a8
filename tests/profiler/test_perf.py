"""profile_performance with a guide: GuideLLM replaced by a simulated server, the guide by a
fixed prediction, so the wiring shows (sync run first, its point to the guide, the prior to the
search, every probe's reason kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from advisor.vocabulary import Format, Strategy
from catalog.records import Batch, Distribution, LoadPoint
from profiler import perf
from profiler.commands import Tools
from profiler.perf import Guidance, SearchSettings, Target, Workload, profile_performance
from profiler.ratesearch import Limits, Prior

TARGET = Target(
    model="8b",
    format=Format.BF16,
    gpu="l4",
    gpu_count=1,
    served_name="8b-bf16",
    tokenizer="tok",
    base_url="http://127.0.0.1:1",
)
WORKLOAD = Workload(prefill_tokens=128, decode_tokens=16)
CAPACITY = 7.3


def point(rate: float | None) -> LoadPoint:
    """A server that keeps its limits below CAPACITY requests/s."""
    over = rate is not None and rate >= CAPACITY
    tail = 5000.0 if over else 50.0

    def dist(value: float) -> Distribution:
        return Distribution(mean=value, p50=value, p99=value, count=10)

    return LoadPoint(
        benchmark_index=0,
        strategy=Strategy.SYNCHRONOUS if rate is None else Strategy.CONSTANT,
        target_rate=rate,
        achieved_rps=0.5 if rate is None else min(rate, CAPACITY),
        successful=10,
        errored=0,
        incomplete=0,
        stats={"ttft_ms": dist(tail), "itl_ms": dist(tail / 10), "latency_s": dist(2.0)},
    )


class FixedGuide:
    def __init__(self, prior: Prior | None) -> None:
        self.prior = prior
        self.asked: list[LoadPoint | None] = []

    def guidance(
        self, target: Target, workload: Workload, limits: Limits, sync: LoadPoint | None
    ) -> Guidance:
        self.asked.append(sync)
        return Guidance(prior=self.prior, note="fixed")


@pytest.fixture
def rates(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    asked: list[float | None] = []

    def run(*args: Any) -> LoadPoint:
        rate = args[-1]  # run_guidellm(tools, target, ..., ingest, rate)
        asked.append(rate)
        return point(rate)

    monkeypatch.setattr(perf, "run_guidellm", run)
    return asked


def search(tmp_path: Path, guide: FixedGuide | None, guided: bool = True) -> perf.PerfResult:
    batches: list[Batch] = []
    settings = SearchSettings(limits=Limits(ttft_ms=1000, itl_ms=100), guided=guided)
    return profile_performance(
        Tools(), TARGET, WORKLOAD, tmp_path, {}, settings, batches.append, guide
    )


def test_the_guide_sees_the_sync_run_and_brackets_the_search(
    tmp_path: Path, rates: list[float | None]
) -> None:
    guide = FixedGuide(Prior(max_qps=7.0, low=6.0, high=8.5, source="fixed"))
    result = search(tmp_path, guide)
    assert rates[0] is None and guide.asked == [point(None)]  # asked after the sync run
    assert rates[1] == pytest.approx((6.0 / 1.05 * 8.5 * 1.05) ** 0.5)
    assert result.prior == guide.prior and result.guidance == "fixed"
    assert len(result.reasons) == len(result.probes) == result.runs - 1 <= 4
    assert CAPACITY * 0.95 <= result.max_qps < CAPACITY
    assert "predicted" in result.reasons[0]


def test_unguided_searches_start_from_the_sync_rate(
    tmp_path: Path, rates: list[float | None]
) -> None:
    guided = search(tmp_path, FixedGuide(Prior(max_qps=7.0, low=6.0, high=8.5, source="x")))
    rates.clear()
    unguided = search(tmp_path, FixedGuide(None))
    assert rates[1] == 1 / 2.0  # 1 / the sync run's mean latency
    assert unguided.guidance == "fixed" and unguided.prior is None
    assert unguided.runs > guided.runs
    assert abs(unguided.max_qps / guided.max_qps - 1) <= 0.05


def test_a_backlog_at_the_end_of_a_run_is_saturation() -> None:
    def run(successful: int, incomplete: int) -> LoadPoint:
        latency = Distribution(mean=0.8, p50=0.8, p99=0.8, count=successful)
        return point(None).model_copy(
            update={
                "successful": successful,
                "incomplete": incomplete,
                "duration_s": 6.0,
                "stats": {"latency_s": latency},
            }
        )

    # 2.5 requests/s for 6 s: 13 done, 2 in flight (a steady server holds 2.5 x 0.8 = 2).
    assert perf._kept_up_rps(run(13, 2), 2.5) == pytest.approx(15 / 6)
    # 29 requests/s: 118 done, 57 in flight, where a steady server holds 23: a backlog.
    kept = perf._kept_up_rps(run(118, 57), 29.0)
    assert kept == pytest.approx((118 + 29 * 0.8) / 6) and kept < 0.9 * 29


def test_guided_false_ignores_the_guide(tmp_path: Path, rates: list[float | None]) -> None:
    guide = FixedGuide(Prior(max_qps=7.0, low=6.0, high=8.5, source="x"))
    result = search(tmp_path, guide, guided=False)
    assert guide.asked == [] and result.guidance == "unguided" and rates[1] == 0.5
