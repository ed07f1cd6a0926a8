"""The search: property tests of its invariants, and its answers for blocked candidates."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.search import Option, Targets, Violation, recommend, violations
from advisor.vocabulary import Format, Mode

option_strategy = st.builds(
    Option,
    format=st.sampled_from(list(Format)),
    gpu=st.sampled_from(["a100", "h100", "l40s"]),
    gpu_count=st.sampled_from([1, 2, 4, 8, 16]),
    ttft_ms=st.floats(10, 5000),
    itl_ms=st.floats(1, 300),
    latency_s=st.floats(0.1, 60),
    max_qps=st.one_of(st.just(0.0), st.floats(0.01, 100)),
    usd_per_query=st.floats(1e-6, 1.0),
    recovery_pct=st.floats(90, 102),
    blocked=st.one_of(
        st.none(),
        st.builds(
            Violation,
            reason=st.sampled_from(["memory", "unsupported", "no_price"]),
            detail=st.just("blocked"),
        ),
    ),
)
targets_strategy = st.builds(
    Targets,
    mode=st.sampled_from(list(Mode)),
    ttft_ms=st.one_of(st.none(), st.floats(50, 3000)),
    itl_ms=st.one_of(st.none(), st.floats(5, 200)),
    latency_s=st.one_of(st.none(), st.floats(0.5, 30)),
    min_recovery_pct=st.one_of(st.none(), st.floats(95, 100)),
    suite=st.just("leaderboard_v1"),
)


@settings(max_examples=300, deadline=None)
@given(options=st.lists(option_strategy, max_size=25), targets=targets_strategy)
def test_winner_is_feasible_and_nothing_feasible_is_cheaper(
    options: list[Option], targets: Targets
) -> None:
    result = recommend(options, targets)
    feasible = [o for o in options if not violations(o, targets)]
    assert len(result.alternatives) + len(result.rejected) + (
        result.recommendation is not None
    ) == len(options)
    if result.recommendation is None:
        assert not feasible
        assert all(m in result.rejected for m in result.closest_misses)
        # "Nothing meets these targets" always names the nearest candidates.
        assert bool(result.closest_misses) == bool(options)
        return
    assert not violations(result.recommendation, targets)
    cost = result.recommendation.usd_per_query
    assert all(o.usd_per_query >= cost for o in feasible)
    assert [a.usd_per_query for a in result.alternatives] == sorted(
        a.usd_per_query for a in result.alternatives
    )
    for rejected in result.rejected:
        assert rejected.reason and rejected.detail
        assert rejected.cheaper_than_recommendation == (rejected.usd_per_query < cost)


def test_violations_say_by_how_much() -> None:
    option = Option(
        format=Format.INT4,
        gpu="a100",
        gpu_count=1,
        ttft_ms=1500.0,
        itl_ms=50.0,
        latency_s=3.0,
        usd_per_query=0.001,
        recovery_pct=97.0,
    )
    targets = Targets(mode=Mode.SYNC, ttft_ms=1000, min_recovery_pct=99, suite="leaderboard_v1")
    found = violations(option, targets)
    assert [v.reason for v in found] == ["ttft", "accuracy"]
    assert found[0].detail == "TTFT 1,500 ms > 1,000 ms (+50%)"
    assert found[1].detail == "recovery 97.00% < 99% on leaderboard_v1 (-2.00 points)"


def test_nothing_meets_is_a_normal_answer_with_closest_misses() -> None:
    options = [
        Option(
            format=Format.FP8,
            gpu="h100",
            gpu_count=1,
            latency_s=s,
            usd_per_query=0.001 * s,
            recovery_pct=100.0,
        )
        for s in (2.0, 3.0, 10.0)
    ]
    result = recommend(options, Targets(mode=Mode.SYNC, latency_s=1.5, suite="leaderboard_v1"))
    assert result.recommendation is None
    assert [m.latency_s for m in result.closest_misses] == [2.0, 3.0, 10.0]


def test_an_option_no_load_can_serve_is_a_cheaper_miss_when_even_its_best_costs_less() -> None:
    """Async: a deployment whose idle TTFT misses the limit has no cost per query, but at the
    most it serves without the limits it costs less than the winner: a cheaper option the
    limits ruled out, listed as such and saying by how much it misses."""
    common = {"format": Format.INT4, "gpu_count": 1, "recovery_pct": 99.0}
    winner = Option(gpu="h100", usd_per_hour=3.0, max_qps=5.0, usd_per_query=3.0 / 18_000, **common)
    cheap = Option(
        gpu="a6000",
        usd_per_hour=0.66,
        max_qps=0.0,
        max_qps_unconstrained=2.0,
        ttft_unloaded_ms=1500.0,
        itl_unloaded_ms=20.0,
        latency_unloaded_s=4.0,
        **common,
    )
    dear = cheap.model_copy(update={"gpu": "l4", "usd_per_hour": 9.0})
    targets = Targets(mode=Mode.ASYNC, ttft_ms=1000, latency_s=3, suite="leaderboard_v1")
    result = recommend([dear, cheap, winner], targets)
    assert result.recommendation == winner
    by_gpu = {r.gpu: r for r in result.rejected}
    assert by_gpu["a6000"].cheaper_than_recommendation
    assert not by_gpu["l4"].cheaper_than_recommendation
    assert [r.gpu for r in result.rejected] == ["a6000", "l4"]  # least cost first
    assert by_gpu["a6000"].reason == "ttft" and by_gpu["a6000"].excess_pct == 50
    # The idle latency is checked against the latency limit too.
    assert "latency of an idle deployment 4 s > 3 s (+33%)" in by_gpu["a6000"].detail


def test_closest_misses_when_only_blocked_or_unmeasurable_options_miss() -> None:
    """No option says by how much it misses: the nearest are listed all the same."""
    unservable = Option(format=Format.BF16, gpu="l4", gpu_count=1, max_qps=0.0, usd_per_hour=1.0)
    too_big = Option(
        format=Format.BF16,
        gpu="a10g",
        gpu_count=1,
        blocked=Violation(reason="memory", detail="needs 132 GiB", excess_pct=500.0),
    )
    result = recommend(
        [too_big, unservable], Targets(mode=Mode.ASYNC, ttft_ms=10, suite="leaderboard_v1")
    )
    assert result.recommendation is None
    assert [(m.gpu, m.reason) for m in result.closest_misses] == [
        ("l4", "throughput"),
        ("a10g", "memory"),
    ]


def test_an_option_only_a_price_keeps_out_is_the_nearest_miss() -> None:
    """It would be the answer once priced: before those that miss a limit by a little."""
    near = Option(
        format=Format.INT8, gpu="a100", gpu_count=1, ttft_ms=1010, max_qps=3.0, usd_per_query=0.1
    )
    unpriced = Option(
        format=Format.INT4,
        gpu="l40s",
        gpu_count=1,
        ttft_ms=500,
        max_qps=2.0,
        blocked=Violation(reason="no_price", detail="not priced"),
    )
    result = recommend(
        [near, unpriced], Targets(mode=Mode.ASYNC, ttft_ms=1000, suite="leaderboard_v1")
    )
    assert result.recommendation is None
    assert [(m.gpu, m.reason) for m in result.closest_misses] == [
        ("l40s", "no_price"),
        ("a100", "ttft"),
    ]
