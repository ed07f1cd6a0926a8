"""The rate search: the highest constant request rate whose tail latencies stay within limits.

A pure decision function over the probes made so far, so it can be tested with fake (noisy,
non-monotone) measurements: bracket by doubling or halving, then bisect geometrically until the
highest passing rate is within `tolerance` of the lowest failing one.
"""

from __future__ import annotations

import math

from pydantic import Field

from advisor.query import STUDY_ITL_LIMIT_MS, STUDY_TTFT_LIMIT_MS
from advisor.vocabulary import Frozen


class Limits(Frozen):
    ttft_ms: float | None = Field(default=STUDY_TTFT_LIMIT_MS, gt=0, description="tail TTFT limit")
    itl_ms: float | None = Field(default=STUDY_ITL_LIMIT_MS, gt=0, description="tail ITL limit")
    percentile: float = Field(default=99.0, gt=0, lt=100, description="which tail, e.g. 99")
    max_error_rate: float = Field(default=0.0, ge=0, le=1, description="errored / total allowed")
    min_sustained: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="achieved / asked rate below which the server is saturated",
    )


class Probe(Frozen):
    """One constant-rate GuideLLM benchmark, summarised."""

    rate: float = Field(gt=0, description="requests/s asked for")
    ttft_ms: float | None = Field(description="TTFT at the chosen percentile")
    itl_ms: float | None = Field(description="ITL at the chosen percentile")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="errored / total")
    achieved_rps: float | None = Field(default=None, ge=0, description="requests/s achieved")

    def meets(self, limits: Limits) -> bool:
        if self.error_rate > limits.max_error_rate:
            return False
        if self.achieved_rps is not None and self.achieved_rps < limits.min_sustained * self.rate:
            return False  # the server could not keep up: queues grow without bound
        if limits.ttft_ms is not None and (self.ttft_ms is None or self.ttft_ms > limits.ttft_ms):
            return False
        return not (
            limits.itl_ms is not None and (self.itl_ms is None or self.itl_ms > limits.itl_ms)
        )


class Decision(Frozen):
    next_rate: float | None = Field(description="the rate to probe next; None: done")
    best_rate: float = Field(description="highest rate known to meet the limits (0: none)")
    lowest_failing: float | None = Field(description="lowest rate known to miss them")
    reason: str = Field(description="why this step")


def decide(
    probes: list[Probe],
    limits: Limits,
    start_rate: float,
    tolerance: float = 0.05,
    min_rate: float = 0.01,
    max_rate: float = 10_000.0,
) -> Decision:
    """What to do after `probes`.

    A failure caps the search: a rate above the lowest failing one that happened to pass (noise)
    is not trusted, and the answer is the highest passing rate below it.
    """
    failing = [p.rate for p in probes if not p.meets(limits)]
    ceiling = min(failing) if failing else None
    passing = [p.rate for p in probes if p.meets(limits) and (ceiling is None or p.rate < ceiling)]
    best = max(passing) if passing else 0.0
    if not probes:
        return Decision(next_rate=start_rate, best_rate=0.0, lowest_failing=None, reason="start")
    if ceiling is None:
        if best >= max_rate:
            return Decision(
                next_rate=None,
                best_rate=best,
                lowest_failing=None,
                reason=f"meets the limits at the cap of {max_rate:g} requests/s",
            )
        return Decision(
            next_rate=min(best * 2, max_rate),
            best_rate=best,
            lowest_failing=None,
            reason="bracketing: every rate so far meets the limits, doubling",
        )
    if best == 0.0:
        if ceiling / 2 < min_rate:
            return Decision(
                next_rate=None,
                best_rate=0.0,
                lowest_failing=ceiling,
                reason=f"misses the limits even at {ceiling:g} requests/s",
            )
        return Decision(
            next_rate=ceiling / 2,
            best_rate=0.0,
            lowest_failing=ceiling,
            reason="bracketing: no rate meets the limits yet, halving",
        )
    if ceiling / best - 1 <= tolerance:
        return Decision(
            next_rate=None,
            best_rate=best,
            lowest_failing=ceiling,
            reason=f"converged: within {100 * tolerance:g}% of the lowest failing rate",
        )
    return Decision(
        next_rate=math.sqrt(best * ceiling),
        best_rate=best,
        lowest_failing=ceiling,
        reason="bisecting between the best passing and the lowest failing rate",
    )
