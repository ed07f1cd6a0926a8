"""The scheduler simulation: its limits hold, it is exact where the answer is known, and it
shows the queueing, chunking and preemption effects a load model must reproduce."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import simulate as sim
from advisor.errors import InvalidInputError
from advisor.simulate import (
    WARMUP_FRACTION,
    SchedulerLimits,
    SimulationResult,
    StepCost,
    StepTrace,
    Workload,
    simulate,
    sweep,
)
from advisor.vocabulary import PERCENTILES, Arrivals

# About an 8B model on one GPU, rounded: a decode step at batch 32 costs about 7 ms.
COST = StepCost(
    fixed_s=5e-3,
    per_context_token_s=5e-8,
    per_decode_token_s=2e-5,
    per_prefill_token_s=4e-5,
    request_overhead_s=0.02,
)
LIMITS = SchedulerLimits(token_budget=512, max_num_seqs=32, kv_capacity_tokens=100_000)
FLOOD = sim.FLOOD_RATE


def run(
    rate: float,
    *,
    prompt: int = 256,
    output: int = 32,
    limits: SchedulerLimits = LIMITS,
    arrivals: Arrivals = Arrivals.POISSON,
    n: int = 400,
    seed: int = 0,
    cost: StepCost = COST,
    trace: list[StepTrace] | None = None,
) -> SimulationResult:
    workload = Workload(
        prompt_tokens=prompt,
        output_tokens=output,
        rate=rate,
        arrivals=arrivals,
        n_requests=n,
        seed=seed,
    )
    return simulate(cost, limits, workload, trace)


def capacity(**kwargs: object) -> float:
    return run(FLOOD, **kwargs).achieved_rate  # type: ignore[arg-type]


def test_a_step_costs_its_four_terms() -> None:
    expected = 5e-3 + 1000 * 5e-8 + 3 * 2e-5 + 100 * 4e-5
    assert COST.step_s(context_tokens=1000, n_decode=3, n_prefill=100) == pytest.approx(expected)


def check_trace(trace: list[StepTrace], limits: SchedulerLimits, cost: StepCost) -> None:
    for step, after in zip(trace, [*trace[1:], None], strict=True):
        assert step.scheduled_tokens <= limits.token_budget
        assert step.n_running <= limits.max_num_seqs
        assert step.kv_blocks_used <= limits.kv_blocks
        # The context a step reads is in the cache it holds.
        assert step.context_tokens <= step.kv_blocks_used * limits.block_size
        assert step.scheduled_tokens == step.n_decode + step.n_prefill_tokens
        assert step.n_admitted == 0 or step.n_preempted == 0  # V1 admits none after preempting
        assert step.duration_s == pytest.approx(
            cost.step_s(step.context_tokens, step.n_decode, step.n_prefill_tokens)
        )
        if after is not None:  # steps follow one another, or the server waits for an arrival
            assert after.start_s >= step.start_s + step.duration_s - 1e-9


def test_the_limits_bind_and_are_never_exceeded() -> None:
    limits = SchedulerLimits(token_budget=256, max_num_seqs=16, kv_capacity_tokens=6_000)
    trace: list[StepTrace] = []
    result = run(FLOOD, prompt=600, output=64, limits=limits, n=120, trace=trace)
    check_trace(trace, limits, COST)
    assert max(s.scheduled_tokens for s in trace) == limits.token_budget
    assert max(s.n_running for s in trace) == result.peak_running
    assert max(s.kv_blocks_used for s in trace) > 0.9 * limits.kv_blocks
    assert result.steps == len(trace)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prompt=st.integers(1, 700),
    output=st.integers(1, 60),
    budget=st.integers(8, 1024),
    seqs=st.integers(1, 40),
    spare_blocks=st.integers(0, 400),
    block_size=st.sampled_from([1, 16]),
    load=st.floats(0.05, 5.0),
    arrivals=st.sampled_from(list(Arrivals)),
    n=st.integers(1, 40),
)
def test_every_request_completes_within_the_limits(
    prompt: int,
    output: int,
    budget: int,
    seqs: int,
    spare_blocks: int,
    block_size: int,
    load: float,
    arrivals: Arrivals,
    n: int,
) -> None:
    per_request = math.ceil((prompt + output - 1) / block_size)
    limits = SchedulerLimits(
        token_budget=budget,
        max_num_seqs=seqs,
        kv_capacity_tokens=(per_request + spare_blocks) * block_size,
        block_size=block_size,
    )
    trace: list[StepTrace] = []
    # A rate near one request per prompt's worth of prefill steps: idle, loaded or flooded.
    rate = load / (COST.step_s(0, 0, min(prompt, budget)) * math.ceil(prompt / budget))
    result = run(
        rate, prompt=prompt, output=output, limits=limits, arrivals=arrivals, n=n, trace=trace
    )
    check_trace(trace, limits, COST)
    measured = n - int(WARMUP_FRACTION * n)
    assert result.ttft_s.size == result.latency_s.size == measured
    assert np.all(np.isfinite(result.latency_s))
    assert np.all(result.ttft_s <= result.latency_s + 1e-12)
    assert result.itl_s.size == measured * (output - 1)
    assert np.all(result.itl_s > 0)
    # Every token is computed once, and once more for each time its request was preempted.
    tokens = sum(s.scheduled_tokens for s in trace)
    assert tokens >= n * (prompt + output - 1)
    if result.preemptions == 0:
        assert tokens == n * (prompt + output - 1)


def test_alone_ttft_is_one_prefill_step_and_itl_one_decode_step() -> None:
    prompt, output = 300, 20
    result = run(0.01, prompt=prompt, output=output, arrivals=Arrivals.CONSTANT, n=5)
    ttft = COST.step_s(0, 0, prompt) + COST.request_overhead_s
    np.testing.assert_allclose(result.ttft_s, ttft, rtol=1e-9)
    # The k-th decode step reads the prompt and the k tokens before it.
    per_request = [COST.step_s(prompt + k, 1, 0) for k in range(1, output)]
    np.testing.assert_allclose(np.sort(result.itl_s), np.sort(per_request * 5), rtol=1e-9)
    latency = ttft + sum(per_request)
    np.testing.assert_allclose(result.latency_s, latency, rtol=1e-9)
    assert result.peak_running == 1 and result.preemptions == 0


def test_alone_a_long_prompt_takes_one_step_per_budget() -> None:
    result = run(0.01, prompt=1200, output=2, arrivals=Arrivals.CONSTANT, n=3)
    chunks = [512, 512, 176]
    ttft = sum(COST.step_s(0, 0, c) for c in chunks) + COST.request_overhead_s
    np.testing.assert_allclose(result.ttft_s, ttft, rtol=1e-9)
    assert result.steps == 3 * (len(chunks) + 1)


def test_littles_law_holds_below_saturation() -> None:
    rate = 0.7 * capacity()
    result = run(rate, n=1500, seed=3)
    server_s = float(np.mean(result.latency_s)) - COST.request_overhead_s
    assert result.mean_in_flight == pytest.approx(result.achieved_rate * server_s, rel=0.05)
    assert result.achieved_rate == pytest.approx(rate, rel=0.1)


def test_poisson_arrivals_wait_longer_than_constant_ones() -> None:
    rate = 0.7 * capacity()
    poisson = run(rate, arrivals=Arrivals.POISSON).percentiles(99)
    constant = run(rate, arrivals=Arrivals.CONSTANT).percentiles(99)
    assert poisson.ttft_s > 1.3 * constant.ttft_s
    # Two prompts sharing a step also slow the decodes beside them.
    assert poisson.itl_s > constant.itl_s


def test_past_saturation_the_rate_stops_growing_and_the_queue_grows() -> None:
    top = capacity()
    below = run(0.5 * top)
    assert below.achieved_rate == pytest.approx(0.5 * top, rel=0.1)
    over, far_over = run(2 * top), run(4 * top)
    assert over.achieved_rate == pytest.approx(top, rel=0.05)
    assert far_over.achieved_rate == pytest.approx(top, rel=0.05)
    # The queue has no steady state: the longer the run, the longer the wait.
    short, long = run(2 * top, n=300), run(2 * top, n=600)
    assert long.percentiles(50).ttft_s > 1.5 * short.percentiles(50).ttft_s
    assert below.percentiles(50).ttft_s < 0.1 * short.percentiles(50).ttft_s


def test_a_small_kv_cache_preempts_and_a_large_one_does_not() -> None:
    rate = 2 * capacity()
    small = SchedulerLimits(token_budget=512, max_num_seqs=32, kv_capacity_tokens=2_000)
    large = SchedulerLimits(token_budget=512, max_num_seqs=32, kv_capacity_tokens=100_000)
    trace: list[StepTrace] = []
    starved = run(rate, limits=small, trace=trace)
    check_trace(trace, small, COST)
    assert starved.preemptions > 0
    assert sum(s.n_preempted for s in trace) == starved.preemptions
    assert starved.peak_running < small.max_num_seqs  # the cache, not max_num_seqs, binds
    assert np.all(np.isfinite(starved.latency_s))
    assert run(rate, limits=large).preemptions == 0


def test_long_prompts_are_chunked_and_their_chunks_slow_the_decodes() -> None:
    prompt, output, rate = 2000, 64, 2.0
    idle_itl = COST.step_s(prompt + 1, 1, 0)
    p99_itl = {}
    for budget in (256, 2048):
        limits = SchedulerLimits(token_budget=budget, max_num_seqs=32, kv_capacity_tokens=200_000)
        trace: list[StepTrace] = []
        result = run(rate, prompt=prompt, output=output, limits=limits, n=150, trace=trace)
        check_trace(trace, limits, COST)
        mixed = [s for s in trace if s.n_decode > 0 and s.n_prefill_tokens > 0]
        assert mixed, "no step shares prefill and decode"
        p99_itl[budget] = result.percentiles(99).itl_s
        assert result.percentiles(50).itl_s < 1.5 * idle_itl
        assert p99_itl[budget] > 2 * idle_itl
    # A bigger budget lets bigger chunks into a decode step.
    assert p99_itl[2048] > 2 * p99_itl[256]


def test_the_same_seed_gives_the_same_run() -> None:
    first, again = run(30.0, seed=7), run(30.0, seed=7)
    np.testing.assert_array_equal(first.ttft_s, again.ttft_s)
    np.testing.assert_array_equal(first.itl_s, again.itl_s)
    other = run(30.0, seed=8)
    assert not np.array_equal(first.ttft_s, other.ttft_s)


def test_batched_decode_steps_match_one_step_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = SchedulerLimits(token_budget=512, max_num_seqs=32, kv_capacity_tokens=3_000)
    kwargs: dict[str, object] = {"prompt": 100, "output": 50, "limits": limits, "n": 200}
    fast = [run(rate, **kwargs) for rate in (5.0, 40.0, 200.0)]  # type: ignore[arg-type]
    monkeypatch.setattr(sim._Engine, "_decode_run", lambda self: False)
    slow = [run(rate, **kwargs) for rate in (5.0, 40.0, 200.0)]  # type: ignore[arg-type]
    assert any(r.preemptions for r in slow)
    for a, b in zip(fast, slow, strict=True):
        assert a.steps == b.steps and a.preemptions == b.preemptions
        np.testing.assert_allclose(a.ttft_s, b.ttft_s, rtol=1e-9)
        np.testing.assert_allclose(a.latency_s, b.latency_s, rtol=1e-9)
        np.testing.assert_allclose(np.sort(a.itl_s), np.sort(b.itl_s), rtol=1e-9, atol=1e-12)


def test_percentiles_rise_with_q_and_reject_nonsense() -> None:
    result = run(40.0)
    points = [result.percentiles(q) for q in PERCENTILES]
    for lower, upper in itertools.pairwise(points):
        assert lower.ttft_s <= upper.ttft_s
        assert lower.itl_s <= upper.itl_s
        assert lower.request_itl_s <= upper.request_itl_s
        assert lower.latency_s <= upper.latency_s
    assert points[-1].ttft_s == pytest.approx(float(np.percentile(result.ttft_s, 99)))
    with pytest.raises(InvalidInputError):
        result.percentiles(101)


def test_a_sweep_is_one_run_per_rate() -> None:
    rates = [5.0, 20.0, 80.0]
    curve = sweep(COST, LIMITS, 256, 32, rates, Arrivals.CONSTANT, n_requests=200)
    assert [r.workload.rate for r in curve] == rates
    ttft = [r.percentiles(99).ttft_s for r in curve]
    assert ttft == sorted(ttft) and ttft[-1] > 2 * ttft[0]


def test_a_request_larger_than_the_cache_is_refused() -> None:
    limits = SchedulerLimits(token_budget=512, max_num_seqs=8, kv_capacity_tokens=256)
    with pytest.raises(InvalidInputError, match="KV cache"):
        run(1.0, prompt=250, output=8, limits=limits)
    # Exactly full fits: the last token is never written to the cache.
    assert run(1.0, prompt=250, output=7, limits=limits, n=5).preemptions == 0


def test_preemption_takes_the_newest_so_requests_finish_in_arrival_order() -> None:
    limits = SchedulerLimits(token_budget=512, max_num_seqs=32, kv_capacity_tokens=2_000)
    result = run(FLOOD, limits=limits, arrivals=Arrivals.CONSTANT, n=200)
    assert result.preemptions > 0
    skipped = int(WARMUP_FRACTION * 200)
    finish_s = result.latency_s + np.arange(skipped, 200) / FLOOD
    assert np.all(np.diff(finish_s) >= -1e-9)


def test_saturation_is_the_rate_no_load_exceeds() -> None:
    top = sim.saturation(COST, LIMITS, 256, 32)
    assert top.achieved_rate == pytest.approx(capacity(n=2000), rel=0.05)
    assert top.workload.n_requests == 10 * LIMITS.max_num_seqs
    # The batch at saturation is the largest the limits allow.
    assert top.peak_running == LIMITS.max_num_seqs
    for rate in (0.5 * top.achieved_rate, 3 * top.achieved_rate):
        assert run(rate).achieved_rate < 1.05 * top.achieved_rate


def test_a_requests_mean_itl_smooths_the_prefill_spikes() -> None:
    result = run(2.0, prompt=2000, output=64, n=150)
    assert result.request_itl_s.size == result.ttft_s.size
    decoding_s = result.latency_s - result.ttft_s
    np.testing.assert_allclose(result.request_itl_s * 63, decoding_s, rtol=1e-9)
    # The token intervals' mean is the requests' mean: the same gaps, grouped differently.
    assert result.itl_s.mean() == pytest.approx(result.request_itl_s.mean(), rel=1e-9)
    p99 = result.percentiles(99)
    assert p99.request_itl_s < 0.5 * p99.itl_s
    assert run(1.0, output=1, n=20).percentiles(99).request_itl_s == 0.0


def test_max_rate_is_where_the_percentile_meets_the_limit() -> None:
    top = capacity()
    workload = Workload(
        prompt_tokens=256, output_tokens=32, rate=1.0, arrivals=Arrivals.POISSON, n_requests=300
    )
    idle_ttft = COST.step_s(0, 0, 256) + COST.request_overhead_s
    loose = sim.max_rate(COST, LIMITS, workload, q=99, ttft_limit_s=30 * idle_ttft, iterations=4)
    tight = sim.max_rate(COST, LIMITS, workload, q=99, ttft_limit_s=2 * idle_ttft, iterations=6)
    assert 0 < tight < loose <= 1.02 * top
    assert run(tight, n=300).percentiles(99).ttft_s <= 2 * idle_ttft
    assert run(1.1 * tight, n=300).percentiles(99).ttft_s > 2 * idle_ttft
    constant = workload.model_copy(update={"arrivals": Arrivals.CONSTANT})
    assert (
        sim.max_rate(COST, LIMITS, constant, q=99, ttft_limit_s=2 * idle_ttft, iterations=5) > tight
    )
    assert sim.max_rate(COST, LIMITS, workload, q=99, ttft_limit_s=0.9 * idle_ttft) == 0.0
    idle_itl = COST.step_s(256 + 1, 1, 0)
    assert sim.max_rate(COST, LIMITS, workload, q=50, itl_limit_s=0.9 * idle_itl) == 0.0
    assert sim.max_rate(COST, LIMITS, workload, q=50, latency_limit_s=0.15) == 0.0
