"""The rate search as a pure decision function, on fake measurements."""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profiler.ratesearch import Limits, Prior, Probe, decide

LIMITS = Limits(ttft_ms=1000, itl_ms=100)


def system(capacity: float, noise: float = 0.0, seed: int = 0):
    """A fake server: tail latencies blow up past `capacity` requests/s."""
    rng = random.Random(seed)

    def probe(rate: float) -> Probe:
        load = rate / capacity * (1 + rng.uniform(-noise, noise))
        itl = 20 + 60 * load if load < 1 else 500 * load
        ttft = 200 + 500 * load if load < 1 else 5000 * load
        return Probe(rate=rate, ttft_ms=ttft, itl_ms=itl)

    return probe


def search(probe, start: float, tolerance: float = 0.05, limit: int = 40) -> tuple[float, int]:
    probes: list[Probe] = []
    for _ in range(limit):
        decision = decide(probes, LIMITS, start, tolerance)
        if decision.next_rate is None:
            return decision.best_rate, len(probes)
        probes.append(probe(decision.next_rate))
    raise AssertionError("did not converge")


@pytest.mark.parametrize(("capacity", "start"), [(7.3, 1.0), (0.4, 1.0), (120.0, 0.5), (3.0, 3.0)])
def test_converges_within_five_percent_in_few_runs(capacity: float, start: float) -> None:
    best, runs = search(system(capacity), start)
    assert capacity * 0.95 <= best <= capacity
    # Bracketing doubles or halves, bisection halves the log-gap: about log2 steps each.
    assert runs <= math.ceil(abs(math.log2(capacity / start))) + 8


@given(
    capacity=st.floats(0.05, 500),
    start=st.floats(0.05, 50),
    noise=st.floats(0, 0.3),
    seed=st.integers(0, 10),
)
def test_never_reports_a_failing_rate(
    capacity: float, start: float, noise: float, seed: int
) -> None:
    probe = system(capacity, noise, seed)
    best, _ = search(probe, start)
    # Only rates that passed are reported; with noise a pass needs rate < capacity / (1 - noise).
    assert best < capacity / (1 - noise) + 1e-9
    if noise == 0 and best > 0:
        assert probe(best).meets(LIMITS) and best >= capacity * 0.95


def test_a_pass_above_a_failure_is_not_trusted() -> None:
    probes = [
        Probe(rate=4, ttft_ms=100, itl_ms=10),
        Probe(rate=8, ttft_ms=5000, itl_ms=500),
        Probe(rate=16, ttft_ms=100, itl_ms=10),
    ]  # noise: passed above the failure
    decision = decide(probes, LIMITS, 4)
    assert decision.best_rate == 4 and decision.lowest_failing == 8
    assert decision.next_rate == pytest.approx(math.sqrt(32))


def test_nothing_passes_is_a_normal_answer() -> None:
    probes = [
        Probe(rate=r, ttft_ms=9999, itl_ms=999)
        for r in (1.0, 0.5, 0.25, 0.125, 0.0625, 0.03, 0.015)
    ]
    decision = decide(probes, LIMITS, 1.0)
    assert decision.next_rate is None and decision.best_rate == 0.0


def test_a_rate_the_server_cannot_sustain_fails() -> None:
    assert not Probe(rate=100, ttft_ms=10, itl_ms=10, achieved_rps=40).meets(LIMITS)
    assert Probe(rate=100, ttft_ms=10, itl_ms=10, achieved_rps=95).meets(LIMITS)


def test_requests_in_flight_at_the_end_were_kept_up_with() -> None:
    # 13 done and 2 in flight at the end of a 6 s run at 2.5 requests/s: not saturated.
    probe = Probe(rate=2.5, ttft_ms=10, itl_ms=10, achieved_rps=13 / 6, issued_rps=15 / 6)
    assert probe.meets(LIMITS)
    assert not probe.model_copy(update={"issued_rps": 2.0}).meets(LIMITS)


def test_errors_and_missing_figures_fail_a_probe() -> None:
    assert not Probe(rate=1, ttft_ms=10, itl_ms=10, error_rate=0.2).meets(LIMITS)
    assert not Probe(rate=1, ttft_ms=None, itl_ms=10).meets(LIMITS)
    assert Probe(rate=1, ttft_ms=None, itl_ms=None).meets(Limits(ttft_ms=None, itl_ms=None))


def guided(
    probe, prior: Prior, start: float, tolerance: float = 0.05, limit: int = 40
) -> tuple[float, list[str]]:
    """The search as profile_performance runs it with a guide: (max QPS, each probe's reason)."""
    probes: list[Probe] = []
    reasons: list[str] = []
    for _ in range(limit):
        decision = decide(probes, LIMITS, start, tolerance, prior=prior)
        if decision.next_rate is None:
            return decision.best_rate, reasons
        reasons.append(decision.reason)
        probes.append(probe(decision.next_rate))
    raise AssertionError("did not converge")


def prior_around(capacity: float, width: float, position: float) -> Prior:
    """An interval `width` = high / low wide, the truth at `position` (0: low end, 1: high end)
    of it in log space; the point prediction at its geometric centre."""
    low = capacity / width**position
    return Prior(max_qps=low * math.sqrt(width), low=low, high=low * width, source="test")


# Bisection halves the log-width of the bracket per run. The bracket is the interval widened by
# the tolerance at both ends, so four runs reach 5% for intervals up to 1.05**14 = 1.98 wide:
# the advisor's calibrated intervals (about 1.5 wide) fit, its uncalibrated ones (2-4) do not.
WIDTHS = (1.1, 1.3, 1.5, 1.7, 1.95)
POSITIONS = (0.01, 0.2, 0.4, 0.5, 0.6, 0.8, 0.99)
CAPACITIES = (0.07, 0.9, 3.3, 12.0, 85.0, 420.0)
SYNC_SHARES = (0.02, 0.1, 0.4)  # the synchronous rate 1 / latency, as a share of the capacity


def test_guided_search_within_five_percent_in_four_runs_when_the_interval_holds() -> None:
    """Over a grid of simulated servers: the guided search against the exhaustive one (doubling
    from the synchronous rate), both to 5%."""
    guided_runs, exhaustive_runs = [], []
    for capacity, width, position, share in itertools.product(
        CAPACITIES, WIDTHS, POSITIONS, SYNC_SHARES
    ):
        probe = system(capacity)
        best, reasons = guided(probe, prior_around(capacity, width, position), capacity * share)
        exhaustive, runs = search(probe, capacity * share)
        assert len(reasons) <= 4, (capacity, width, position, reasons)
        assert capacity * 0.95 <= best <= capacity
        assert abs(best / exhaustive - 1) <= 0.05
        guided_runs.append(len(reasons))
        exhaustive_runs.append(runs)
    assert max(guided_runs) <= 4 and statistics.mean(guided_runs) < 4
    assert statistics.mean(exhaustive_runs) > statistics.mean(guided_runs) + 2


@pytest.mark.parametrize("start", [0.5, 3.0, 9.0])
@pytest.mark.parametrize("position", [-6.0, -2.0, -0.5, 1.5, 3.0, 8.0])
def test_a_wrong_interval_falls_back(position: float, start: float) -> None:
    """Truth outside the interval: the search bisects to the interval's end (4 runs), confirms
    it (1), then doubles from it, or bisects down to the synchronous rate."""
    capacity = 10.0
    best, reasons = guided(system(capacity), prior_around(capacity, 1.5, position), start)
    _, exhaustive = search(system(capacity), start)
    assert capacity * 0.95 <= best <= capacity
    assert any(("doubling" in r or "synchronous" in r) for r in reasons)
    outside = (-position if position < 0 else position - 1) * math.log2(1.5)
    assert len(reasons) <= exhaustive + 5 + math.ceil(outside)


def saturating(capacity: float, throughput: float):
    """A fake server that also reports what it achieved: at most `throughput` requests/s."""
    inner = system(capacity)

    def probe(rate: float) -> Probe:
        return inner(rate).model_copy(update={"achieved_rps": min(rate, throughput)})

    return probe


def test_a_saturated_probe_pulls_a_far_too_high_prediction_down() -> None:
    """The CPU host under a GPU's prediction: 100x too high. The first probe's achieved
    throughput stands in for the high end, so the search does not halve its way down."""
    capacity = 3.0
    probe = saturating(capacity, throughput=4.2)
    best, reasons = guided(probe, prior_around(capacity * 100, 1.5, 0.5), 1.6)
    _, exhaustive = search(probe, 1.6)
    assert capacity * 0.95 <= best <= capacity
    assert "saturated probe achieved" in reasons[1]
    assert len(reasons) <= exhaustive + 1


def test_each_probe_says_where_it_came_from() -> None:
    capacity = 5.0
    _, reasons = guided(system(capacity), prior_around(capacity, 1.5, 0.3), 1.0)
    assert "predicted low end" in reasons[0] and "predicted high end" in reasons[0]
    assert reasons[0].endswith("; test")  # the prediction's source, on the first probe
    assert any("measured" in r for r in reasons[1:])


@given(
    capacity=st.floats(0.05, 500),
    width=st.floats(1.0, 8.0),
    position=st.floats(-3, 4),
    noise=st.floats(0, 0.3),
    seed=st.integers(0, 10),
)
def test_guided_search_never_reports_a_failing_rate(
    capacity: float, width: float, position: float, noise: float, seed: int
) -> None:
    probe = system(capacity, noise, seed)
    best, _ = guided(probe, prior_around(capacity, width, position), capacity / 10)
    assert best < capacity / (1 - noise) + 1e-9
    if noise == 0:
        assert best >= capacity * 0.95 or capacity * 0.95 < 0.01  # below min_rate: nothing


def test_an_interval_must_hold_its_point() -> None:
    with pytest.raises(ValueError, match="must hold"):
        Prior(max_qps=5, low=6, high=9, source="test")


def test_a_saturated_probe_disproves_the_prediction_above_it_for_good() -> None:
    """The CPU tier's case: a prediction 1,000x too high, short probes whose achieved rate is
    noisy (a rate above the saturated throughput passes). The search never goes back up to the
    prediction: it brackets from the measured rates, by doubling."""
    limits = Limits(ttft_ms=2000, itl_ms=100)
    prior = Prior(max_qps=1500, low=1100, high=2000, source="a GPU's prediction")

    def server(rate: float) -> Probe:
        if rate > 2.0:  # saturated: achieves 1.33/s whatever it is offered
            return Probe(rate=rate, ttft_ms=1200, itl_ms=80, achieved_rps=1.33)
        return Probe(rate=rate, ttft_ms=100, itl_ms=12, achieved_rps=rate)

    probes: list[Probe] = []
    decision = decide(probes, limits, 0.83, 0.25, prior=prior)
    while decision.next_rate is not None and len(probes) < 10:
        probes.append(server(decision.next_rate))
        decision = decide(probes, limits, 0.83, 0.25, prior=prior)
    assert all(p.rate < 5 for p in probes[1:]), [p.rate for p in probes]
    assert decision.reason.startswith("converged")
    assert 2.0 / 1.25 <= decision.best_rate <= 2.0
