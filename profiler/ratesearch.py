"""The rate search: the highest constant request rate whose tail latencies stay within limits.

A pure decision function over the probes made so far, so it can be tested with fake (noisy,
non-monotone) measurements: bracket by doubling or halving, then bisect geometrically until the
highest passing rate is within `tolerance` of the lowest failing one. Given a prediction (a
`Prior`: the advisor's max QPS and 80% interval), the interval stands in for the bracket's
unmeasured ends until a probe disproves them, so a right prediction needs no bracketing runs.
"""

from __future__ import annotations

import math

from pydantic import Field, model_validator

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
    achieved_rps: float | None = Field(default=None, ge=0, description="requests/s completed")
    issued_rps: float | None = Field(
        default=None,
        ge=0,
        description="requests/s kept up with (done, or in flight at the end within a steady "
        "server's share)",
    )

    def meets(self, limits: Limits) -> bool:
        if self.error_rate > limits.max_error_rate:
            return False
        if self.saturated(limits):
            return False  # the server could not keep up: queues grow without bound
        if limits.ttft_ms is not None and (self.ttft_ms is None or self.ttft_ms > limits.ttft_ms):
            return False
        return not (
            limits.itl_ms is not None and (self.itl_ms is None or self.itl_ms > limits.itl_ms)
        )

    def saturated(self, limits: Limits) -> bool:
        """Whether the server fell behind the asked rate. Requests in flight when a short run
        ends, as many as a steady server holds, were kept up with: counted, they keep a low
        rate from failing on its last requests."""
        kept = self.issued_rps if self.issued_rps is not None else self.achieved_rps
        return kept is not None and kept < limits.min_sustained * self.rate


class Prior(Frozen):
    """What is expected before the first constant-rate run: a max QPS and its 80% interval."""

    max_qps: float = Field(gt=0, description="predicted max QPS, requests/s")
    low: float = Field(gt=0, description="80% interval, low end, requests/s")
    high: float = Field(gt=0, description="80% interval, high end, requests/s")
    source: str = Field(description="where the figures come from, for the decision reasons")

    @model_validator(mode="after")
    def _ordered(self) -> Prior:
        if not self.low <= self.max_qps <= self.high:
            raise ValueError(
                f"the interval [{self.low:g}, {self.high:g}] must hold the max QPS {self.max_qps:g}"
            )
        return self


class Decision(Frozen):
    next_rate: float | None = Field(description="the rate to probe next; None: done")
    best_rate: float = Field(description="highest rate known to meet the limits (0: none)")
    lowest_failing: float | None = Field(description="lowest rate known to miss them")
    reason: str = Field(description="why this step")


class _End(Frozen):
    """One end of the bracket: a measured rate, or a stand-in for one until a probe tests it."""

    rate: float
    kind: str = Field(description="measured, predicted, throughput, doubled or synchronous")

    @property
    def measured(self) -> bool:
        return self.kind == "measured"

    def says(self, side: str) -> str:
        return {
            "measured": f"{self.rate:.4g} (measured, {'passed' if side == 'low' else 'failed'})",
            "predicted": f"{self.rate:.4g} (predicted {side} end)",
            "throughput": f"{self.rate:.4g} (the throughput a saturated probe achieved)",
            "synchronous": f"{self.rate:.4g} (the synchronous run's rate)",
            "doubled": f"{self.rate:.4g} (twice the best passing rate)",
        }[self.kind]


def _ends(
    best: float,
    ceiling: float | None,
    prior: Prior | None,
    tolerance: float,
    throughput: float | None,
    start_rate: float,
) -> tuple[_End | None, _End | None]:
    """The bracket: measured ends, tightened by stand-ins where no probe disproves them.

    The prediction's interval is widened by the tolerance, so that when it holds the truth the
    search ends on two measured rates (an end it never needed to probe stays a stand-in only if
    the truth lies outside it). A probe the server could not keep up with shows its throughput,
    above any rate within limits: it disproves a prediction above it and stands in for the high
    end. With the prediction's low end disproved, the synchronous run's rate stands in for the
    low one (where the unguided search starts)."""
    low = _End(rate=best, kind="measured") if best > 0 else None
    high = None if ceiling is None else _End(rate=ceiling, kind="measured")
    if prior is None:
        return low, high
    guess_low = prior.low / (1 + tolerance)
    guess_high = prior.high * (1 + tolerance)
    if throughput is not None:
        cap = throughput * (1 + tolerance)
        if best < cap and (high is None or high.rate > cap):
            high = _End(rate=cap, kind="throughput")
        elif high is None or high.rate > 2 * best:
            # A rate above the saturated throughput passed (a short probe's noise): bracket
            # from it by doubling, as the unguided search does.
            high = _End(rate=2 * best, kind="doubled")
        # The throughput disproves a prediction above it, for good: it never comes back.
        guess_high = min(guess_high, cap)
        guess_low = min(guess_low, cap)
    if high is not None and high.rate <= guess_low:
        if low is None and start_rate < high.rate / (1 + tolerance):
            low = _End(rate=start_rate, kind="synchronous")
    elif low is None or low.rate < guess_low:
        low = _End(rate=guess_low, kind="predicted")
    if best < guess_high and (high is None or high.rate > guess_high):
        high = _End(rate=guess_high, kind="predicted")
    return low, high


def decide(
    probes: list[Probe],
    limits: Limits,
    start_rate: float,
    tolerance: float = 0.05,
    min_rate: float = 0.01,
    max_rate: float = 10_000.0,
    prior: Prior | None = None,
) -> Decision:
    """What to do after `probes`.

    A failure caps the search: a rate above the lowest failing one that happened to pass (noise)
    is not trusted, and the answer is the highest passing rate below it. With a `prior` the
    first probe is the geometric centre of its (tolerance-widened) interval, then the search
    bisects between measured ends and the interval's; a probe that disproves an interval end
    drops it, and the search falls back to doubling or halving from the measured rates.
    """
    failing = [p.rate for p in probes if not p.meets(limits)]
    ceiling = min(failing) if failing else None
    passing = [p.rate for p in probes if p.meets(limits) and (ceiling is None or p.rate < ceiling)]
    best = max(passing) if passing else 0.0
    if not probes and prior is None:
        return Decision(next_rate=start_rate, best_rate=0.0, lowest_failing=None, reason="start")
    saturated = [
        p.achieved_rps for p in probes if p.achieved_rps is not None and p.saturated(limits)
    ]
    throughput = max(saturated) if saturated else None
    low, high = _ends(best, ceiling, prior, tolerance, throughput, start_rate)

    def step(rate: float | None, reason: str) -> Decision:
        if rate is not None:
            rate = min(max(rate, min_rate), max_rate)
        return Decision(next_rate=rate, best_rate=best, lowest_failing=ceiling, reason=reason)

    if low is not None and high is not None:
        if high.rate / low.rate - 1 > tolerance:
            return step(
                math.sqrt(low.rate * high.rate),
                f"bisecting between {low.says('low')} and {high.says('high')}"
                + (f"; {prior.source}" if prior is not None and not probes else ""),
            )
        if not low.measured:
            return step(low.rate, f"confirming the low end {low.says('low')}")
        if not high.measured:
            return step(high.rate, f"confirming the high end {high.says('high')}")
        return step(None, f"converged: within {100 * tolerance:g}% of the lowest failing rate")
    if high is None:
        if best >= max_rate:
            return step(None, f"meets the limits at the cap of {max_rate:g} requests/s")
        past = " (past the prediction's high end)" if prior is not None else ""
        return step(
            min(best * 2, max_rate),
            f"bracketing: every rate so far meets the limits{past}, doubling",
        )
    # No rate passed, and the prediction's low end (if any) failed.
    if high.rate / 2 < min_rate:
        return step(None, f"misses the limits even at {high.rate:g} requests/s")
    below = " (below the prediction's low end)" if prior is not None else ""
    return step(high.rate / 2, f"bracketing: no rate meets the limits yet{below}, halving")
