"""The search: rank evaluated candidates by cost under the targets. A pure function.

`recommend(options, targets)` returns the cheapest feasible option, the other feasible options
in order, and every rejected one with the constraint that ruled it out and by how much.
"Nothing meets these targets" is a normal answer: no recommendation, and the closest misses.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer

from advisor.cells import SetAside
from advisor.figures import fixed
from advisor.vocabulary import (
    DEFAULT_PERCENTILE,
    PERCENTILES,
    Arrivals,
    Binding,
    Format,
    Frozen,
    Label,
    Mode,
    renamed,
)

CLOSEST_MISSES = 5
# Figures leave as JSON with this many significant digits: predictions carry 80% intervals far
# wider than 1e-6, so 70.17999999999999 becomes 70.18 and no figure changes its meaning.
SIGNIFICANT_DIGITS = 6


def rounded(value: float) -> float:
    """`value` to SIGNIFICANT_DIGITS significant digits (float noise dropped)."""
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}") if math.isfinite(value) else value


# A figure of an answer: exact in Python (the search compares unrounded values), rounded when
# written as JSON, the one place the API, the CLI's --json and the report get their precision.
Figure = Annotated[float, PlainSerializer(rounded, return_type=float, when_used="json")]


# The limits, as the query and the targets both name them (the old names accepted as input).
TtftLimitMs = Annotated[
    float | None,
    Field(gt=0, validation_alias=renamed("ttft_limit_ms", "ttft_ms"), description="TTFT limit, ms"),
]
ItlLimitMs = Annotated[
    float | None,
    Field(gt=0, validation_alias=renamed("itl_limit_ms", "itl_ms"), description="ITL limit, ms"),
]
LatencyLimitS = Annotated[
    float | None,
    Field(
        gt=0,
        validation_alias=renamed("latency_limit_s", "latency_s"),
        description="end-to-end latency limit, s",
    ),
]


def _reported_percentile(value: float) -> float:
    if value not in PERCENTILES:
        accepted = ", ".join(f"{p:g}" for p in PERCENTILES)
        raise ValueError(f"percentile must be one of {accepted} (the ones GuideLLM reports)")
    return value


Percentile = Annotated[
    float,
    AfterValidator(_reported_percentile),
    Field(description="percentile the TTFT/ITL/latency limits apply to: 50, 90, 95 or 99"),
]
HeadroomPct = Annotated[
    float | None,
    Field(
        ge=0,
        lt=100,
        description="with a target load: size each deployment at least this far below its "
        "predicted max QPS, % (default: size on the 80% interval's low end)",
    ),
]


class Targets(Frozen):
    mode: Mode = Field(description="sync: one request at a time; async: continuous batching")
    ttft_limit_ms: TtftLimitMs = None
    itl_limit_ms: ItlLimitMs = None
    latency_limit_s: LatencyLimitS = None
    min_recovery_pct: float | None = Field(default=None, gt=0, le=200, description="accuracy floor")
    suite: str = Field(description="suite or task the floor applies to")
    qps: float | None = Field(default=None, gt=0, description="load to size the fleet for")
    percentile: Percentile = DEFAULT_PERCENTILE
    arrivals: Arrivals = Field(default=Arrivals.POISSON, description="poisson or constant")
    headroom_pct: HeadroomPct = None


class Violation(Frozen):
    reason: str = Field(
        description="memory, unsupported, no_price, ttft, itl, latency, accuracy, throughput"
    )
    detail: str = Field(description="what was wrong, in words and numbers")
    excess_pct: Figure | None = Field(default=None, description="how far past the target, %")


class Option(Frozen):
    """One candidate with everything predicted for it (predictions are None where it could not
    be evaluated: it does not fit, its format is not supported, or it has no price)."""

    format: Format = Field(description="quantization format")
    gpu: str = Field(description="GPU type")
    gpu_count: int = Field(description="GPUs per deployment")
    tensor_parallel_size: int | None = Field(default=None, description="tensor-parallel size")
    replicas: int | None = Field(default=None, description="data-parallel replicas per deployment")
    operating_qps: Figure | None = Field(
        default=None,
        description="requests/s per deployment the figures are for: the max QPS within the "
        "limits, or with a target load, the load divided by the deployments",
    )
    ttft_ms: Figure | None = Field(
        default=None,
        description="predicted time to first token, ms: sync, one request alone; async, at "
        "the operating point at the limits' percentile",
    )
    ttft_ms_lo: Figure | None = Field(default=None, description="TTFT 80% interval, low end, ms")
    ttft_ms_hi: Figure | None = Field(default=None, description="TTFT 80% interval, high end, ms")
    itl_ms: Figure | None = Field(
        default=None,
        description="predicted inter-token latency, ms: sync, one request alone; async, at "
        "the operating point at the limits' percentile",
    )
    itl_ms_lo: Figure | None = Field(default=None, description="ITL 80% interval, low end, ms")
    itl_ms_hi: Figure | None = Field(default=None, description="ITL 80% interval, high end, ms")
    ttft_unloaded_ms: Figure | None = Field(
        default=None, description="TTFT of one request on an idle deployment, ms"
    )
    itl_unloaded_ms: Figure | None = Field(
        default=None, description="ITL of one request on an idle deployment, ms"
    )
    latency_unloaded_s: Figure | None = Field(
        default=None, description="latency of one request on an idle deployment, s"
    )
    latency_s: Figure | None = Field(
        default=None,
        description="predicted request latency, s (async: at the operating point and percentile)",
    )
    latency_s_lo: Figure | None = Field(default=None, description="latency interval, low end, s")
    latency_s_hi: Figure | None = Field(default=None, description="latency interval, high end, s")
    binding_constraint: Binding | None = Field(
        default=None,
        description="async: what sets the max QPS (ttft, itl, latency, kv_cache or compute)",
    )
    latency_bound_s: Figure | None = Field(
        default=None, description="roofline latency: no deployment can be faster"
    )
    max_qps: Figure | None = Field(
        default=None, description="most requests/s within the latency limits"
    )
    max_qps_lo: Figure | None = Field(default=None, description="max QPS interval, low end")
    max_qps_hi: Figure | None = Field(default=None, description="max QPS interval, high end")
    max_qps_unconstrained: Figure | None = Field(
        default=None, description="most requests/s ignoring the latency limits"
    )
    usd_per_hour: Figure | None = Field(default=None, description="price of one deployment, USD/h")
    usd_per_query: Figure | None = Field(default=None, description="cost of one request, USD")
    usd_per_query_lo: Figure | None = Field(default=None, description="cost interval, low end, USD")
    usd_per_query_hi: Figure | None = Field(
        default=None, description="cost interval, high end, USD"
    )
    queries_per_usd: Figure | None = Field(default=None, description="requests per USD")
    recovery_pct: Figure | None = Field(
        default=None, description="accuracy recovered against BF16, %"
    )
    recovery_pct_lo: Figure | None = Field(default=None, description="recovery interval, low, %")
    recovery_pct_hi: Figure | None = Field(default=None, description="recovery interval, high, %")
    label: Label | None = Field(
        default=None, description="performance: measured, interpolated or extrapolated"
    )
    accuracy_label: Label | None = Field(
        default=None, description="accuracy: measured, interpolated or extrapolated"
    )
    accuracy_basis: str | None = Field(
        default=None,
        description="where the recovery comes from: its sources, the family's measured sizes, "
        "or (starting 'prior:') the prior for a family without accuracy data",
    )
    deployments: int | None = Field(default=None, description="copies needed for the target QPS")
    fleet_usd_per_hour: Figure | None = Field(
        default=None, description="price of every copy needed for the target QPS, USD/h"
    )
    usd_per_million_output_tokens: Figure | None = Field(
        default=None, description="cost of a million output tokens, USD"
    )
    fleet_gpus: int | None = Field(default=None, description="GPUs in the whole fleet")
    sized_qps_per_deployment: Figure | None = Field(
        default=None,
        description="the capacity per deployment the fleet was sized on (after headroom)",
    )
    meets_limits_probability: Figure | None = Field(
        default=None,
        description="chance, from the prediction's interval, that the fleet meets the limits "
        "at the target load",
    )
    engine: str | None = Field(default=None, description="serving engine the figures are for")
    weight_only: bool = Field(
        default=False,
        description="the format runs weight-only on this GPU: its weights, BF16 math (FP8 on "
        "Ampere: W8A16 through Marlin); such figures are extrapolated",
    )
    blocked: Violation | None = Field(default=None, description="why it was not evaluated")
    set_aside: SetAside | None = Field(
        default=None,
        description="sync: a measurement of this very configuration and shape that the "
        "catalog's hygiene set aside (generation stopped early): never fitted on nor used as "
        "measured, so the figures are a prediction; here its value, flag and reason",
    )


class Rejected(Option):
    """A ruled-out option: `reason` (memory, unsupported, no_price, ttft, itl, latency, accuracy,
    throughput) and `detail` say why, `excess_pct` by how much."""

    reason: str = Field(description="the constraint that ruled it out")
    detail: str = Field(description="why, in words")
    excess_pct: Figure | None = Field(default=None, description="how far past the limit, %")
    cheaper_than_recommendation: bool = Field(
        default=False, description="whether it costs less than the recommendation"
    )


class Result(Frozen):
    recommendation: Option | None
    alternatives: list[Option]
    rejected: list[Rejected]
    closest_misses: list[Rejected]


def _excess(value: float, limit: float) -> float:
    return 100 * (value - limit) / limit


def violations(option: Option, targets: Targets) -> list[Violation]:
    """Every target the option misses, worst first."""
    if option.blocked is not None:
        return [option.blocked]
    found: list[Violation] = []
    if targets.mode is Mode.ASYNC and not option.max_qps:
        # No load meets the limits: say how far an idle deployment already misses them.
        idle = [
            ("ttft", option.ttft_unloaded_ms, targets.ttft_limit_ms, "TTFT", "ms"),
            ("itl", option.itl_unloaded_ms, targets.itl_limit_ms, "ITL", "ms"),
            ("latency", option.latency_unloaded_s, targets.latency_limit_s, "latency", "s"),
        ]
        for reason, value, limit, name, unit in idle:
            if limit is not None and value is not None and value > limit:
                found.append(
                    Violation(
                        reason=reason,
                        excess_pct=_excess(value, limit),
                        detail=f"{name} of an idle deployment {fixed(value, 4)} {unit} > "
                        f"{fixed(limit, 4)} {unit} (+{_excess(value, limit):.0f}%)",
                    )
                )
        if not found:
            found.append(
                Violation(
                    reason="throughput",
                    excess_pct=None,
                    detail="cannot meet the limits at any load",
                )
            )
    # In async mode the figures are at the operating point, at the limits' percentile.
    at = f" at p{targets.percentile:g}" if targets.mode is Mode.ASYNC else ""
    checks = [
        ("ttft", option.ttft_ms, targets.ttft_limit_ms, "TTFT", "ms"),
        ("itl", option.itl_ms, targets.itl_limit_ms, "ITL", "ms"),
        ("latency", option.latency_s, targets.latency_limit_s, "latency", "s"),
    ]
    for reason, value, limit, name, unit in checks:
        if limit is not None and value is not None and value > limit and option.max_qps != 0:
            found.append(
                Violation(
                    reason=reason,
                    excess_pct=_excess(value, limit),
                    detail=f"{name}{at} {fixed(value, 4)} {unit} > "
                    f"{fixed(limit, 4)} {unit} (+{_excess(value, limit):.0f}%)",
                )
            )
    floor = targets.min_recovery_pct
    if floor is not None and option.recovery_pct is not None and option.recovery_pct < floor:
        short = floor - option.recovery_pct
        found.append(
            Violation(
                reason="accuracy",
                excess_pct=100 * short / floor,
                detail=f"recovery {option.recovery_pct:.2f}% < {floor:g}% on "
                f"{targets.suite} (-{short:.2f} points)",
            )
        )
    return sorted(found, key=lambda v: -(v.excess_pct or math.inf))


def _cost(option: Option, targets: Targets) -> float:
    if targets.qps is not None and option.fleet_usd_per_hour is not None:
        return option.fleet_usd_per_hour
    return option.usd_per_query if option.usd_per_query is not None else math.inf


def _least_cost(option: Option, targets: Targets) -> float:
    """Its cost; for an option no load within the limits can use, the cost it would have at
    the most it serves without them: none lower is possible, so one below the winner's is a
    cheaper option that the limits ruled out."""
    cost = _cost(option, targets)
    most = option.max_qps_unconstrained
    if math.isfinite(cost) or option.usd_per_hour is None or not most:
        return cost
    if targets.qps is not None:
        return math.ceil(targets.qps / most) * option.usd_per_hour
    return option.usd_per_hour / (3600 * most)


def _nearness(miss: Rejected) -> tuple[bool, bool, float]:
    """Evaluated options before blocked ones, then those that say by how much, least first."""
    return miss.blocked is not None, miss.excess_pct is None, miss.excess_pct or 0.0


def recommend(options: list[Option], targets: Targets) -> Result:
    """The cheapest option that meets every target, the ranked alternatives, and the rest."""
    feasible: list[Option] = []
    rejected: list[tuple[Option, list[Violation]]] = []
    for option in options:
        missed = violations(option, targets)
        if missed:
            rejected.append((option, missed))
        else:
            feasible.append(option)
    feasible.sort(key=lambda o: (_cost(o, targets), o.gpu_count, o.gpu, o.format.value))
    winner = feasible[0] if feasible else None
    winner_cost = _cost(winner, targets) if winner else math.inf
    out: list[Rejected] = []
    unpriced_only: set[int] = set()  # meet every target but have no price: the nearest of all
    for option, missed in sorted(
        rejected,
        key=lambda r: (_least_cost(r[0], targets), r[0].gpu_count, r[0].gpu, r[0].format.value),
    ):
        worst = missed[0]
        if [v.reason for v in missed] == ["no_price"]:
            unpriced_only.add(len(out))
        out.append(
            Rejected(
                **option.model_dump(),
                reason=worst.reason,
                detail="; ".join(v.detail for v in missed),
                excess_pct=worst.excess_pct,
                cheaper_than_recommendation=_least_cost(option, targets) < winner_cost,
            )
        )
    misses: list[Rejected] = []
    if winner is None:
        # Always some: the nearest by how much they miss, cheapest first among equals.
        # Those that miss only a price first: they would be the answer once priced.
        def nearest(i: int) -> tuple[bool, bool, bool, float, float]:
            return i not in unpriced_only, *_nearness(out[i]), _least_cost(out[i], targets)

        order = sorted(range(len(out)), key=nearest)
        misses = [out[i] for i in order[:CLOSEST_MISSES]]
    return Result(
        recommendation=winner, alternatives=feasible[1:], rejected=out, closest_misses=misses
    )
