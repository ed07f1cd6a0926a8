"""Asynchronous predictions at the operating point: each deployment's max QPS within the limits
(measured where the catalog has it), the rate it is run at, and its TTFT, ITL and latency there
at the limits' percentile, with 80% intervals.

The intervals come from one source: the held-out error of the max QPS. An error of the rate by a
factor f is an error of the step costs by 1 / f, so the figures at the operating point are
recomputed with the step costs at both ends of the interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from advisor.cells import AsyncPrediction, Cell
from advisor.fleet import chance_to_meet, sized_deployments
from advisor.load import Limits, Replica, figures, max_rate, saturation_rate
from advisor.load_fit import Arranged, LoadCase, evaluate_cases
from advisor.vocabulary import Arrivals, Binding, Label

# Bisection steps on log10 k when matching a measurement: 6 decades / 2^16, 0.02% in k.
MATCH_STEPS = 16


@dataclass(frozen=True)
class LoadQuestion:
    """The limits (ms, s; None: none), percentile and arrivals, and the load to size for."""

    ttft_limit_ms: float | None = None
    itl_limit_ms: float | None = None
    latency_limit_s: float | None = None
    percentile: float = 99.0
    arrivals: Arrivals = Arrivals.POISSON
    target_qps: float | None = None
    headroom_pct: float | None = None

    @property
    def unconstrained(self) -> bool:
        return (
            self.ttft_limit_ms is None
            and self.itl_limit_ms is None
            and (self.latency_limit_s is None)
        )

    def case(self, cell: Cell) -> LoadCase:
        return LoadCase(
            cell,
            ttft_s=_seconds(self.ttft_limit_ms, 1000),
            itl_s=_seconds(self.itl_limit_ms, 1000),
            latency_s=_seconds(self.latency_limit_s, 1),
            percentile=self.percentile,
            arrivals=self.arrivals,
        )


def _seconds(limit: float | None, per_second: float) -> float:
    return math.inf if limit is None else limit / per_second


@dataclass(frozen=True)
class Interval:
    """log(measured / predicted) quantiles of the max QPS, as the predictor holds them."""

    low: float
    high: float


def _ms(value: float, scale: float = 1000.0) -> float | None:
    return value * scale if math.isfinite(value) else None


def predict_operating(
    cases_cells: Sequence[Cell],
    question: LoadQuestion,
    sync_params: Mapping[str, float],
    load_params: Mapping[str, float],
    engine: str,
    measured: Sequence[float | None],
    labels: Sequence[Label],
    intervals: Sequence[Interval],
) -> list[AsyncPrediction]:
    """Predictions for `cases_cells` under `question`. `measured` holds a measured max QPS per
    deployment at exactly these limits (None: none): the model is rescaled to it for that cell,
    so its figures at the operating point agree with the measurement."""
    cases = [question.case(c) for c in cases_cells]
    a, replica, found = evaluate_cases(cases, sync_params, load_params, engine)
    n = len(cases)
    rows = found.row
    ok = rows >= 0
    chosen = replica.take(np.where(ok, rows, 0))
    replicas = np.where(ok, a.replicas[np.where(ok, rows, 0)], 1)
    tp = np.where(ok, a.tp[np.where(ok, rows, 0)], [c.gpu_count for c in cases_cells])
    limits = Limits(
        ttft_s=np.array([c.ttft_s for c in cases]),
        itl_s=np.array([c.itl_s for c in cases]),
        latency_s=np.array([c.latency_s for c in cases]),
        percentile=question.percentile,
        arrivals=question.arrivals,
    )
    # A measurement rescales the cell's step costs so that the model's max rate is the measured
    # one: its figures at the operating point then agree with it (bisection on log k).
    factor = np.ones(n)
    qps = found.qps.copy()
    binding = list(found.binding)
    target = np.array([m if m is not None else np.nan for m in measured])
    fix = ok & np.isfinite(target) & (target > 0)
    # Measured to meet the limits at no rate at all: the model's figure must not stand in.
    qps[ok & np.isfinite(target) & (target <= 0)] = 0.0
    if fix.any():
        factor[fix], qps[fix], bound = _matched(
            chosen.take(fix), _take(limits, fix), target[fix] / replicas[fix]
        )
        qps[fix] *= replicas[fix]
        for j, index in enumerate(np.flatnonzero(fix)):
            binding[int(index)] = bound[j]
    chosen = chosen.scaled(factor)
    unconstrained = np.maximum(
        _best_saturation(a, replica, n) * 1.0, saturation_rate(chosen) * replicas
    )
    out = []
    lo_f = np.array([math.exp(min(iv.low, 0.0)) for iv in intervals])
    hi_f = np.array([math.exp(max(iv.high, 0.0)) for iv in intervals])
    max_lo, max_hi = qps * lo_f, qps * hi_f
    deployments: list[int | None] = [None] * n
    operating = qps.copy()
    if question.target_qps is not None:
        for i in range(n):
            if qps[i] > 0:
                capacity = (
                    qps[i] * (1 - question.headroom_pct / 100)
                    if question.headroom_pct is not None
                    else max_lo[i]
                )
                count = sized_deployments(question.target_qps, float(capacity))
                deployments[i] = count
                operating[i] = question.target_qps / count
    per_replica = operating / replicas
    centre = figures(chosen, per_replica, question.percentile, question.arrivals)
    fast = figures(chosen.scaled(1 / hi_f), per_replica, question.percentile, question.arrivals)
    slow = figures(chosen.scaled(1 / lo_f), per_replica, question.percentile, question.arrivals)
    for i in range(n):
        serving = bool(ok[i] and qps[i] > 0)
        out.append(
            AsyncPrediction(
                max_qps=float(qps[i]) if serving else 0.0,
                max_qps_lo=float(max_lo[i]) if serving else 0.0,
                max_qps_hi=float(max_hi[i]) if serving else 0.0,
                max_qps_unconstrained=float(unconstrained[i])
                if ok[i] and np.isfinite(unconstrained[i])
                else float(qps[i]),
                binding_constraint=binding[i] if ok[i] else None,
                tensor_parallel_size=int(tp[i]),
                replicas=int(replicas[i]),
                operating_qps=float(operating[i]) if serving else 0.0,
                ttft_ms=_ms(centre.ttft_s[i]) if serving else None,
                ttft_ms_lo=_ms(fast.ttft_s[i]) if serving else None,
                ttft_ms_hi=_ms(slow.ttft_s[i]) if serving else None,
                itl_ms=_ms(centre.itl_s[i]) if serving else None,
                itl_ms_lo=_ms(fast.itl_s[i]) if serving else None,
                itl_ms_hi=_ms(slow.itl_s[i]) if serving else None,
                latency_s=_ms(centre.latency_s[i], 1.0) if serving else None,
                latency_s_lo=_ms(fast.latency_s[i], 1.0) if serving else None,
                latency_s_hi=_ms(slow.latency_s[i], 1.0) if serving else None,
                deployments=deployments[i],
                meets_limits_probability=chance_to_meet(
                    float(qps[i]), float(operating[i]), intervals[i].low, intervals[i].high
                )
                if deployments[i] is not None
                else None,
                label=labels[i],
            )
        )
    return out


def _matched(
    r: Replica, limits: Limits, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[Binding | None]]:
    """The step-cost factor k at which each replica's max rate is `target`, that rate, and
    what binds there. The max rate falls as k grows, so bisect log k in [1/1000, 1000]."""
    lo, hi = np.full(len(target), -3.0), np.full(len(target), 3.0)
    for _ in range(MATCH_STEPS):
        mid = (lo + hi) / 2
        rate, _ = max_rate(r.scaled(10**mid), limits)
        fast = rate > target
        lo, hi = np.where(fast, mid, lo), np.where(fast, hi, mid)
    factor = 10**lo
    rate, binding = max_rate(r.scaled(factor), limits)
    return factor, rate, binding


def _take(limits: Limits, mask: np.ndarray) -> Limits:
    return Limits(
        ttft_s=limits.ttft_s[mask],
        itl_s=limits.itl_s[mask],
        latency_s=limits.latency_s[mask],
        percentile=limits.percentile,
        arrivals=limits.arrivals,
    )


def _best_saturation(a: Arranged, replica: Replica, n: int) -> np.ndarray:
    """The highest unconstrained rate per deployment over every arrangement of each cell."""
    rate = saturation_rate(replica) * a.replicas
    out = np.zeros(n)
    np.maximum.at(out, a.owner, rate)
    return out
