"""The rate search as a pure decision function, on fake measurements."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profiler.ratesearch import Limits, Probe, decide

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


def test_errors_and_missing_figures_fail_a_probe() -> None:
    assert not Probe(rate=1, ttft_ms=10, itl_ms=10, error_rate=0.2).meets(LIMITS)
    assert not Probe(rate=1, ttft_ms=None, itl_ms=10).meets(LIMITS)
    assert Probe(rate=1, ttft_ms=None, itl_ms=None).meets(Limits(ttft_ms=None, itl_ms=None))
