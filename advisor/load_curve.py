"""Max QPS under latency limits read from a measured GuideLLM load curve. Pure; no I/O.

The reading follows GuideLLM's own SLO report: order the sub-benchmarks by the rate they
achieved, find the lowest rate that fails the limits (or saturates the server) and the highest
rate below it that passes, and interpolate monotonically between the two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
from pydantic import Field

from advisor.data import LoadPoint
from advisor.errors import InvalidInputError
from advisor.vocabulary import DEFAULT_PERCENTILE, PERCENTILES, Binding, Format, Frozen, Strategy

# A rate-driven point that completes less than this share of the rate it was offered is
# saturated: the server could not keep up. 5% leaves room for the arrivals' own noise.
SATURATION_FRACTION = 0.95
# ... but only when its requests also stayed longer in the system than the curve's least-loaded
# point's by this factor. A shortfall at idle-level latency is the client's, not the server's
# (GuideLLM 0.5's scheduler issued the requests late), and says nothing about capacity.
SHORTFALL_QUEUEING_FACTOR = 1.1
# Between two points ordered by concurrency, the rate's elasticity to concurrency
# (d ln rate / d ln concurrency) is 1 while requests run side by side and 0 once they queue:
# below this, concurrency grows much faster than the rate, and the point and all above it queue.
QUEUEING_ELASTICITY = 0.25
# Concurrency must grow by this factor between two points for their elasticity to mean anything.
MIN_CONCURRENCY_GROWTH = 1.1
# A point at no more than this many requests in flight is an idle-server point: if it fails
# the limits, nothing lighter would pass either, and a max QPS of 0 is measured.
IDLE_CONCURRENCY = 1.5
RATE_DRIVEN = frozenset({Strategy.CONSTANT, Strategy.POISSON, Strategy.ASYNC})


class CurveKey(NamedTuple):
    """One configuration's load curve: what was served, where, and at which token shape."""

    model: str
    format: Format
    gpu: str
    gpu_count: int
    engine: str | None
    prefill_tokens: int | None
    decode_tokens: int | None


class CurveReading(Frozen):
    """The max QPS of one measured configuration under the limits, and how it was found."""

    max_qps: float = Field(ge=0, description="requests/s per deployment (the measured one)")
    measured: bool = Field(
        description="a passing and a failing (or saturated) point bracket it; False: a bound"
    )
    binding: Binding | None = Field(
        description="the limit that sets max_qps, compute when saturation does; None: unknown"
    )
    saturation_qps: float | None = Field(
        description="requests/s at saturation: the highest achieved rate of a saturated point"
    )
    points: int = Field(ge=0, description="load points used")
    source: str = Field(description="source labels of those points, comma-separated")


def configurations(points: Iterable[LoadPoint]) -> dict[CurveKey, list[LoadPoint]]:
    """Load points grouped into curves, each in the order given."""
    grouped: dict[CurveKey, list[LoadPoint]] = {}
    for point in points:
        key = CurveKey(
            point.model,
            point.format,
            point.gpu,
            point.gpu_count,
            point.engine,
            point.prefill_tokens,
            point.decode_tokens,
        )
        grouped.setdefault(key, []).append(point)
    return grouped


def matches_shape(
    point: LoadPoint, prefill_tokens: int, decode_tokens: int, tolerance: float = 0.1
) -> bool:
    """Whether the point's token shape is within `tolerance` (relative) of the one asked for."""
    if point.prefill_tokens is None or point.decode_tokens is None:
        return False
    return (
        abs(point.prefill_tokens - prefill_tokens) <= tolerance * prefill_tokens
        and abs(point.decode_tokens - decode_tokens) <= tolerance * decode_tokens
    )


def read_curve(
    points: Sequence[LoadPoint],
    *,
    ttft_limit_ms: float | None = None,
    itl_limit_ms: float | None = None,
    latency_limit_s: float | None = None,
    percentile: float = DEFAULT_PERCENTILE,
) -> CurveReading | None:
    """The max QPS of one curve under the limits at `percentile` (50, 90, 95 or 99).

    - Points that cannot be placed (no achieved rate, nothing completed) are left out, and so
      are unsaturated points missing a limited metric at that percentile: unusable, not
      passing. None when nothing is left.
    - Without limits: the saturation rate, measured when a point saturates; otherwise the
      highest achieved rate, a lower bound (measured=False).
    - The lowest failing point caps the answer, even where a noisy curve passes again above it.
      Between it and the highest passing point below it, each limited metric is interpolated
      linearly in rate on its running maximum, so that the crossing is unique. A point that
      fails by saturation alone puts max QPS at its achieved rate, bound by compute.
    - Every point passes: the highest passing rate, a lower bound (measured=False).
    - The lowest point fails a limit: 0, measured, when that point is an idle server's (one
      request at a time); otherwise None, since lighter loads were never measured.
    """
    suffix = _suffix(percentile)
    wanted = (
        (Binding.TTFT, ttft_limit_ms, f"ttft_{suffix}_ms"),
        (Binding.ITL, itl_limit_ms, f"itl_{suffix}_ms"),
        (Binding.LATENCY, latency_limit_s, f"latency_{suffix}_s"),
    )
    limits = {name: (limit, column) for name, limit, column in wanted if limit is not None}
    placed = sorted((p for p in points if _placed(p)), key=_rate)
    flags = saturation(placed)
    # A saturated point fails whatever its figures say, so it needs none to count.
    kept = [
        i
        for i, p in enumerate(placed)
        if flags[i] or all(_figure(p, column) is not None for _, column in limits.values())
    ]
    if not kept:
        return None
    usable = [placed[i] for i in kept]
    rates = np.array([_rate(p) for p in usable])
    saturated = np.array([flags[i] for i in kept], dtype=bool)
    saturation_qps = float(rates[saturated].max()) if saturated.any() else None

    def reading(max_qps: float, measured: bool, binding: Binding | None) -> CurveReading:
        return CurveReading(
            max_qps=max_qps,
            measured=measured,
            binding=binding,
            saturation_qps=saturation_qps,
            points=len(usable),
            source=", ".join(sorted({p.source for p in usable})),
        )

    if not limits:
        if saturation_qps is None:
            return reading(float(rates[-1]), False, None)
        return reading(saturation_qps, True, Binding.COMPUTE)
    # The running maximum makes each metric non-decreasing in rate, so crossings are unique.
    values = {
        name: np.fmax.accumulate(
            np.array([_figure(p, column) for p in usable], dtype=float)  # None -> nan
        )
        for name, (_, column) in limits.items()
    }
    over = {name: values[name] > limit for name, (limit, _) in limits.items()}
    fails = saturated | np.logical_or.reduce(list(over.values()))
    if not fails.any():
        return reading(float(rates[-1]), False, None)
    above = int(np.argmax(fails))
    broken = [name for name in limits if over[name][above]]
    if not broken:  # saturated while within every limit
        return reading(float(rates[above]), True, Binding.COMPUTE)
    if above == 0:
        if not _idle(usable[0]):
            return None
        worst = max(broken, key=lambda n: values[n][0] / limits[n][0])
        return reading(0.0, True, worst)
    below = above - 1
    crossings = {
        name: _crossing(
            rates[below], rates[above], values[name][below], values[name][above], limits[name][0]
        )
        for name in broken
    }
    binding = min(crossings, key=lambda n: crossings[n])
    return reading(crossings[binding], True, binding)


def saturation(points: Sequence[LoadPoint]) -> list[bool]:
    """Whether the server saturates at each point (points that cannot be placed: False).

    A throughput point is saturation by design. A rate-driven point (constant, poisson) is
    saturated when it completes less than SATURATION_FRACTION of the rate offered over its
    window and its requests queue. Ordered by concurrency, a point whose rate grows with an
    elasticity below QUEUEING_ELASTICITY is saturated, and so is every point above it.
    """
    placed = [i for i, p in enumerate(points) if _placed(p)]
    in_system = {i: _in_system_s(points[i]) for i in placed}
    idle_s = min((s for s in in_system.values() if s is not None), default=None)
    saturated = [False] * len(points)
    for i in placed:
        saturated[i] = points[i].strategy == Strategy.THROUGHPUT or _falls_short(
            points[i], in_system[i], idle_s
        )
    crowd = sorted(
        (i for i in placed if points[i].concurrency), key=lambda i: points[i].concurrency or 0.0
    )
    for k in range(1, len(crowd)):
        lower, upper = points[crowd[k - 1]], points[crowd[k]]
        growth = (upper.concurrency or 0.0) / (lower.concurrency or 1.0)
        if growth < MIN_CONCURRENCY_GROWTH:
            continue
        elasticity = math.log(_rate(upper) / _rate(lower)) / math.log(growth)
        if elasticity < QUEUEING_ELASTICITY:
            for i in crowd[k:]:
                saturated[i] = True
            break
    return saturated


def _falls_short(point: LoadPoint, in_system_s: float | None, idle_s: float | None) -> bool:
    """A rate-driven point that completes too little of its offered rate while queueing."""
    return (
        _rate(point) < SATURATION_FRACTION * _offered_rps(point)
        and in_system_s is not None
        and idle_s is not None
        and in_system_s > SHORTFALL_QUEUEING_FACTOR * idle_s
    )


def _suffix(percentile: float) -> str:
    if percentile not in PERCENTILES:
        accepted = ", ".join(f"{p:g}" for p in PERCENTILES)
        raise InvalidInputError(f"percentile {percentile:g} is not measured; accepted: {accepted}")
    return f"p{percentile:g}"


def _figure(point: LoadPoint, column: str) -> float | None:
    value: float | None = getattr(point, column)
    return value


def _placed(point: LoadPoint) -> bool:
    return point.achieved_rps is not None and point.achieved_rps > 0 and point.successful > 0


def _rate(point: LoadPoint) -> float:
    return point.achieved_rps or 0.0


def _offered_rps(point: LoadPoint) -> float:
    """The rate an unsaturated server completes over the point's window: the target, less the
    drain of the last request, which GuideLLM counts in the window. A short run at 17.6/s with
    12 requests of 0.31 s completes 12 / (11 / 17.6 + 0.31) = 12.8/s without any queueing."""
    if point.strategy not in RATE_DRIVEN or not point.target_rate:
        return 0.0
    if point.latency_mean_s is None or point.successful < 2:
        return point.target_rate
    window_s = (point.successful - 1) / point.target_rate + point.latency_mean_s
    return point.successful / window_s


def _in_system_s(point: LoadPoint) -> float | None:
    """Seconds a request spends in the system, by Little's law where concurrency is known."""
    if point.concurrency and _rate(point) > 0:
        return point.concurrency / _rate(point)
    return point.latency_mean_s


def _idle(point: LoadPoint) -> bool:
    if point.strategy == Strategy.SYNCHRONOUS:
        return True
    return point.concurrency is not None and point.concurrency <= IDLE_CONCURRENCY


def _crossing(
    rate_lo: float, rate_hi: float, value_lo: float, value_hi: float, limit: float
) -> float:
    """Where the metric, linear in rate between a passing and a failing point, meets its limit."""
    if rate_hi <= rate_lo or value_hi <= value_lo:
        return float(rate_lo)
    share = (limit - value_lo) / (value_hi - value_lo)
    return float(rate_lo + share * (rate_hi - rate_lo))
