"""The load model: its queueing figures behave like a server under load, replicas add up, and
no feasible answer shows a figure over its limit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.cells import Cell
from advisor.data import Snapshot
from advisor.load import Limits, figures, max_rate, saturation_rate
from advisor.load_fit import LoadCase, arranged, costed, evaluate_cases
from advisor.operating import LoadQuestion
from advisor.service import Advisor, Query
from advisor.vocabulary import Arrivals, Binding, Format, Label

PERCENTILES = (50.0, 90.0, 95.0, 99.0)


def cell(snap: Snapshot, model: str, fmt: str, gpu: str, count: int, p: int, d: int) -> Cell:
    return Cell(
        model=snap.model(model),
        format=Format(fmt),
        gpu=snap.gpu(gpu),
        gpu_count=count,
        prefill_tokens=p,
        decode_tokens=d,
    )


@pytest.fixture(scope="module")
def replica(fitted: Advisor):  # type: ignore[no-untyped-def]
    """One fitted replica: 8B BF16 on one A100, 1024 in / 128 out."""
    snap = fitted.snapshot
    cells = [cell(snap, "8b", "bf16", "a100", 1, 1024, 128)]
    p = fitted.predictor
    return costed(arranged(cells, p.sync_params_, p.engine_), cells, p.load_params_)


def test_figures_grow_with_load_and_start_from_an_idle_server(replica) -> None:  # type: ignore[no-untyped-def]
    sat = float(saturation_rate(replica)[0])
    rates = np.array([1e-6, 0.2, 0.5, 0.8, 0.95]) * sat
    for arrivals in Arrivals:
        for q in PERCENTILES:
            f = [figures(replica, np.array([r]), q, arrivals) for r in rates]
            ttft = [float(x.ttft_s[0]) for x in f]
            itl = [float(x.itl_s[0]) for x in f]
            assert ttft == sorted(ttft) and itl == sorted(itl)
            assert ttft[0] == pytest.approx(float(replica.ttft_alone_s[0]), rel=0.02)
            assert itl[0] == pytest.approx(float(replica.itl_alone_s[0]), rel=0.02)
    # Past saturation nothing is stable.
    over = figures(replica, np.array([sat * 1.01]), 99.0, Arrivals.POISSON)
    assert not over.stable[0] and math.isinf(over.ttft_s[0])


def test_poisson_and_higher_percentiles_cost_more(replica) -> None:  # type: ignore[no-untyped-def]
    rate = np.array([0.7 * float(saturation_rate(replica)[0])])
    constant = [figures(replica, rate, q, Arrivals.CONSTANT) for q in PERCENTILES]
    poisson = [figures(replica, rate, q, Arrivals.POISSON) for q in PERCENTILES]
    for c, p in zip(constant, poisson, strict=True):
        assert p.ttft_s[0] >= c.ttft_s[0] and p.itl_s[0] >= c.itl_s[0]
    assert [p.ttft_s[0] for p in poisson] == sorted(p.ttft_s[0] for p in poisson)
    assert poisson[-1].ttft_s[0] > constant[-1].ttft_s[0]


def limits(ttft: float, itl: float, latency: float = math.inf, q: float = 99.0) -> Limits:
    return Limits(np.array([ttft]), np.array([itl]), np.array([latency]), q, Arrivals.POISSON)


def test_max_rate_is_the_edge_of_the_limits(replica) -> None:  # type: ignore[no-untyped-def]
    sat = float(saturation_rate(replica)[0])
    free, binding = max_rate(replica, limits(math.inf, math.inf))
    assert free[0] == pytest.approx(sat, rel=1e-3) and binding[0] is Binding.COMPUTE
    rate, binding = max_rate(replica, limits(0.5, math.inf))
    assert 0 < rate[0] < sat and binding[0] is Binding.TTFT
    at = figures(replica, rate, 99.0, Arrivals.POISSON)
    assert at.ttft_s[0] <= 0.5
    assert figures(replica, rate * 1.01, 99.0, Arrivals.POISSON).ttft_s[0] > 0.5
    tighter, _ = max_rate(replica, limits(0.3, math.inf))
    assert tighter[0] < rate[0]
    none, _ = max_rate(replica, limits(float(replica.ttft_alone_s[0]) / 2, math.inf))
    assert none[0] == 0.0
    latency, binding = max_rate(replica, limits(math.inf, math.inf, latency=3.0))
    assert binding[0] is Binding.LATENCY and latency[0] < sat


def test_a_small_kv_cache_binds(replica) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    small = replace(replica, kv_tokens=replica.kv_tokens * 0 + 20_000)
    rate, binding = max_rate(small, limits(math.inf, math.inf))
    assert binding[0] is Binding.KV_CACHE
    assert rate[0] < float(saturation_rate(replica)[0])


def test_replicas_scale_linearly(fitted: Advisor) -> None:
    """A deployment of r replicas of tensor-parallel size t serves r times one of them."""
    snap = fitted.snapshot
    question = LoadQuestion(ttft_limit_ms=1000, itl_limit_ms=100)
    pairs = [
        ("405b", "int4", "h100", 16, 8),
        ("70b", "fp8", "h100", 8, 4),
        ("8b", "int8", "a100", 4, 1),
        ("8b", "bf16", "l40s", 2, 1),
    ]
    checked = 0
    for model, fmt, gpu, count, tp in pairs:
        whole, one = fitted.predictor.predict_async(
            [
                cell(snap, model, fmt, gpu, count, 512, 256),
                cell(snap, model, fmt, gpu, tp, 512, 256),
            ],
            question,
        )
        assert Label.MEASURED not in (whole.label, one.label)
        if whole.tensor_parallel_size == tp and one.tensor_parallel_size == tp:
            assert whole.replicas == count // tp
            assert whole.max_qps == pytest.approx(whole.replicas * one.max_qps, rel=1e-6)
            assert whole.ttft_ms == pytest.approx(one.ttft_ms, rel=1e-6)
            checked += 1
    assert checked >= 3


def test_405b_on_16_h100_serves_at_least_twice_one_8_gpu_replica(fitted: Advisor) -> None:
    """Two independent 8-GPU replicas give twice one; the best arrangement of 16 can only
    do better (before: 1.29 times)."""
    snap = fitted.snapshot
    sixteen, eight = fitted.predictor.predict_async(
        [
            cell(snap, "405b", "int4", "h100", 16, 2048, 200),
            cell(snap, "405b", "int4", "h100", 8, 2048, 200),
        ],
        LoadQuestion(),
    )
    assert Label.MEASURED not in (sixteen.label, eight.label)
    assert sixteen.tensor_parallel_size * sixteen.replicas == 16
    assert sixteen.max_qps >= 2 * eight.max_qps * (1 - 1e-9)


def test_the_throughput_rows_are_saturation(fitted: Advisor) -> None:
    """An unconstrained case is the saturation rate of its best arrangement."""
    snap = fitted.snapshot
    c = cell(snap, "70b", "int8", "a100", 4, 4096, 512)
    p = fitted.predictor
    *_, found = evaluate_cases([LoadCase(c)], p.sync_params_, p.load_params_, p.engine_)
    assert found.qps[0] == pytest.approx(found.saturation_qps[0], rel=1e-3)
    assert found.binding[0] in (Binding.COMPUTE, Binding.KV_CACHE)


QUERIES = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["8b", "70b", "405b"]),
        "use_case": st.sampled_from(["rag", "multi_turn_chat", "code_completion", None]),
        "mode": st.sampled_from(["sync", "async"]),
        "ttft_limit_ms": st.one_of(st.none(), st.floats(20, 5000)),
        "itl_limit_ms": st.one_of(st.none(), st.floats(5, 300)),
        "latency_limit_s": st.one_of(st.none(), st.floats(0.5, 120)),
        "percentile": st.sampled_from(PERCENTILES),
        "arrivals": st.sampled_from(["poisson", "constant"]),
        "qps": st.one_of(st.none(), st.floats(0.1, 500)),
        "headroom_pct": st.one_of(st.none(), st.floats(0, 60)),
        "min_recovery": st.just(0.0),
    }
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ask=QUERIES)
def test_no_feasible_option_is_over_a_limit(fitted: Advisor, ask: dict[str, object]) -> None:
    """In every mode, the recommendation and every alternative are within every limit at the
    figures they show (async: at their operating point, at the asked percentile)."""
    query = Query(**{k: v for k, v in ask.items() if v is not None})
    advice = fitted.advise(query)
    targets = advice.query
    feasible = [advice.recommendation] if advice.recommendation else []
    feasible += [o.model_dump() for o in advice.alternatives]
    for option in feasible:
        for key, limit in (
            ("ttft_ms", targets["ttft_limit_ms"]),
            ("itl_ms", targets["itl_limit_ms"]),
            ("latency_s", targets["latency_limit_s"]),
        ):
            if limit is not None:
                assert option[key] is not None and option[key] <= limit * (1 + 1e-9), (key, option)
        if ask["mode"] == "async" and ask["qps"] is not None:
            total = option["operating_qps"] * option["deployments"]
            # The recommendation is the JSON document's: six significant digits.
            assert total == pytest.approx(ask["qps"], rel=1e-5)
            assert option["operating_qps"] <= option["max_qps"] * (1 + 1e-9)
