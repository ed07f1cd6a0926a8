"""The advisor as the rate search's guide, over the embedded catalog."""

from __future__ import annotations

import pytest

from advisor.service import PredictRequest, predict
from advisor.vocabulary import Format, Strategy
from catalog.records import Batch, Distribution, LoadPoint
from profiler.guide import AdvisorGuide
from profiler.perf import Target, Workload
from profiler.ratesearch import Limits

TARGET = Target(
    model="8b",
    format=Format.BF16,
    gpu="l4",
    gpu_count=1,
    served_name="8b-bf16",
    tokenizer="tok",
    base_url="http://127.0.0.1:1",
)
WORKLOAD = Workload(prefill_tokens=1024, decode_tokens=256)
LIMITS = Limits(ttft_ms=1000, itl_ms=100)


def sync_run(ttft_ms: float, itl_ms: float | None) -> LoadPoint:
    stats = {"ttft_ms": Distribution(mean=ttft_ms, p50=ttft_ms, count=8)}
    if itl_ms is not None:
        stats["itl_ms"] = Distribution(mean=itl_ms, p50=itl_ms, count=8)
    latency_s = (ttft_ms + 255 * (itl_ms or 0)) / 1000
    return LoadPoint(
        benchmark_index=0,
        strategy=Strategy.SYNCHRONOUS,
        achieved_rps=1 / latency_s,
        successful=8,
        errored=0,
        incomplete=0,
        stats=stats,
    )


@pytest.fixture(scope="module")
def guide(snapshot) -> AdvisorGuide:  # type: ignore[no-untyped-def]
    return AdvisorGuide(lambda: snapshot)


def test_without_a_sync_run_the_prior_is_the_advisors_prediction(guide: AdvisorGuide) -> None:
    prior = guide.guidance(TARGET, WORKLOAD, LIMITS, None).prior
    request = PredictRequest(
        model="8b",
        format="bf16",
        gpu="l4",
        gpu_count=1,
        prefill_tokens=1024,
        decode_tokens=256,
        mode="async",
        ttft_limit_ms=1000,
        itl_limit_ms=100,
        arrivals="constant",
    )
    (row,) = predict(guide.advisor(), [request])
    assert prior is not None
    assert (prior.max_qps, prior.low, prior.high) == (
        row["max_qps"],
        row["max_qps_lo"],
        row["max_qps_hi"],
    )
    assert "prediction" in prior.source


def test_a_slower_sync_run_scales_the_prior_down(guide: AdvisorGuide) -> None:
    fast = guide.guidance(TARGET, WORKLOAD, LIMITS, sync_run(100, 30)).prior
    slow = guide.guidance(TARGET, WORKLOAD, LIMITS, sync_run(200, 60)).prior
    assert fast is not None and slow is not None
    # Rates scale as 1 / step cost: twice the measured TTFT and ITL, half the rates (nearly:
    # each run is compared with the load model at the rate it achieved, half as high).
    assert slow.max_qps == pytest.approx(fast.max_qps / 2, rel=0.05)
    assert slow.low == pytest.approx(fast.low / 2, rel=0.05)
    assert slow.high == pytest.approx(fast.high / 2, rel=0.05)
    assert "calibrated on this cell's synchronous run" in slow.source
    # The calibrated interval is the advisor's held-out error of calibrated configurations.
    assert slow.high / slow.low < 2.5


def test_a_sync_run_without_itl_calibrates_on_ttft_alone(guide: AdvisorGuide) -> None:
    prior = guide.guidance(TARGET, WORKLOAD, LIMITS, sync_run(150, None)).prior
    assert prior is not None and "ttft x" in prior.source and "itl x" not in prior.source


def test_an_unknown_model_leaves_the_search_unguided(guide: AdvisorGuide) -> None:
    target = TARGET.model_copy(update={"model": "no-such-model"})
    guidance = guide.guidance(target, WORKLOAD, LIMITS, None)
    assert guidance.prior is None and guidance.note.startswith("unguided")


def test_a_write_makes_the_next_question_refit(snapshot) -> None:  # type: ignore[no-untyped-def]
    guide = AdvisorGuide(lambda: snapshot)
    written: list[Batch] = []
    guide.guidance(TARGET, WORKLOAD, LIMITS, None)
    guide.guidance(TARGET, WORKLOAD, LIMITS, None)
    assert guide.fits == 1
    guide.writing(written.append)(Batch.model_construct(runs=[]))
    guide.guidance(TARGET, WORKLOAD, LIMITS, None)
    assert guide.fits == 2 and len(written) == 1


def test_a_frozen_guide_travels_to_another_process_and_answers_as_the_original(
    guide: AdvisorGuide,
) -> None:
    """A Ray cell gets the driver's fit frozen: picklable (no catalog connection), the same
    guidance, and no re-fit of its own."""
    import pickle

    travelled = pickle.loads(pickle.dumps(guide.frozen()))
    here = guide.guidance(TARGET, WORKLOAD, LIMITS, sync_run(80.0, 30.0))
    there = travelled.guidance(TARGET, WORKLOAD, LIMITS, sync_run(80.0, 30.0))
    assert there == here
    assert there.prior is not None
    assert travelled.fits == 0
