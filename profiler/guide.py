"""The advisor as the rate search's guide: before a cell's first constant-rate run, its predicted
max QPS and 80% interval at the cell's limits, calibrated on the cell's own synchronous run.

The advisor is fitted in process over the catalog and re-fitted when rows were written since
(`writing` wraps the catalog writer), so each cell starts from the rows of the cells before it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import suppress

from advisor.cells import Cell
from advisor.data import Snapshot
from advisor.errors import AdvisorError
from advisor.evaluate import evaluate
from advisor.operating import LoadQuestion
from advisor.search import Option
from advisor.service import Advisor, PredictRequest, predict
from advisor.vocabulary import Arrivals, Binding, Label, Mode, parse_format
from catalog.db import Connection
from catalog.records import Batch, LoadPoint
from catalog.snapshot import read_snapshot
from profiler.perf import Guidance, Ingest, Target, Workload
from profiler.ratesearch import Limits, Prior


def _median(point: LoadPoint, metric: str) -> float | None:
    stats = point.stats.get(metric)
    if stats is None:
        return None
    value = stats.p50 if stats.p50 is not None else stats.mean
    return None if value is None or value <= 0 else float(value)


def _no_catalog() -> Snapshot:
    raise AdvisorError("a frozen guide has no catalog to re-fit on")


class AdvisorGuide:
    """Predictions for the rate search from the advisor, fitted on `read()` when stale."""

    def __init__(self, read: Callable[[], Snapshot]) -> None:
        self.read = read
        self.fits = 0
        self.fit_seconds = 0.0
        self._advisor: Advisor | None = None

    @classmethod
    def over(cls, con: Connection) -> AdvisorGuide:
        """A guide over a catalog connection (the driver's, the one writer)."""
        return cls(lambda: Snapshot.from_rows(read_snapshot(con)))

    def writing(self, ingest: Ingest) -> Ingest:
        """`ingest`, after which the next question re-fits on the catalog as it is now."""

        def write(batch: Batch) -> None:
            ingest(batch)
            self._advisor = None

        return write

    def frozen(self) -> AdvisorGuide:
        """The guide as it is fitted now, for a cell run in another process (a Ray task): it
        never reads the catalog (a DuckDB connection cannot travel), so it does not re-fit."""
        clone = AdvisorGuide(_no_catalog)
        # Unfitted: the clone's questions say so and its searches run unguided.
        with suppress(AdvisorError, ValueError):
            clone._advisor = self.advisor()
        return clone

    def advisor(self) -> Advisor:
        if self._advisor is None:
            started = time.monotonic()
            self._advisor = Advisor.fit(self.read())
            self.fits += 1
            self.fit_seconds += time.monotonic() - started
        return self._advisor

    def guidance(
        self, target: Target, workload: Workload, limits: Limits, sync: LoadPoint | None
    ) -> Guidance:
        """The prediction at the cell's limits (constant arrivals, as the search runs), scaled
        by how the cell's synchronous run compares with the load model at the rate it ran."""
        try:
            advisor = self.advisor()
            request = PredictRequest(
                model=target.model,
                format=target.format.value,
                gpu=target.gpu,
                gpu_count=target.gpu_count,
                prefill_tokens=workload.prefill_tokens,
                decode_tokens=workload.decode_tokens,
                mode=Mode.ASYNC,
                ttft_limit_ms=limits.ttft_ms,
                itl_limit_ms=limits.itl_ms,
                percentile=limits.percentile,
                arrivals=Arrivals.CONSTANT,
            )
            (row,) = predict(advisor, [request])
        except (AdvisorError, ValueError) as exc:
            return Guidance(prior=None, note=f"unguided: the advisor cannot predict it ({exc})")
        qps, low, high = row["max_qps"], row["max_qps_lo"], row["max_qps_hi"]
        if not qps or not low or not high:
            return Guidance(prior=None, note=f"unguided: no predicted max QPS ({row['note']})")
        said = f"the advisor's {row['label']} prediction {qps:.3g} [{low:.3g}, {high:.3g}]"
        base = Prior(max_qps=qps, low=low, high=high, source=said)
        if row["label"] == Label.MEASURED or sync is None:
            return Guidance(prior=base, note=said)
        return self._calibrated(advisor, request, base, row.get("binding_constraint"), sync)

    def _calibrated(
        self,
        advisor: Advisor,
        request: PredictRequest,
        base: Prior,
        binding: object,
        sync: LoadPoint,
    ) -> Guidance:
        """Rates scale as 1 / k with the step cost (the load model's own calibration rule):
        k from the synchronous run's median ITL and TTFT against the load model's at the rate
        it achieved. The centre takes the binding constraint's k; the interval spans it and the
        whole request's k (its latency, TTFT + (D - 1) x ITL: the rate a server keeps up with
        scales with the work per request), each widened by the held-out error of calibrated
        configurations."""
        qps, said = base.max_qps, base.source
        rate = sync.achieved_rps
        measured = {m: _median(sync, f"{m}_ms") for m in ("ttft", "itl")}
        if not rate or not any(measured.values()):
            return Guidance(prior=base, note=f"{said} (the sync run gives no ITL to calibrate)")
        snap = advisor.snapshot
        cell = Cell(
            model=snap.model(request.model),
            format=parse_format(request.format),
            gpu=snap.gpu(request.gpu),
            gpu_count=request.gpu_count,
            prefill_tokens=request.prefill_tokens,
            decode_tokens=request.decode_tokens,
        )
        question = LoadQuestion(percentile=50.0, arrivals=Arrivals.CONSTANT, target_qps=rate)
        (there,) = evaluate(advisor.predictor, [cell], [None], mode=Mode.ASYNC, question=question)
        factors = _factors(measured, there, request.decode_tokens)
        if not factors:
            return Guidance(prior=base, note=f"{said} (no predicted ITL to calibrate against)")
        key = "ttft" if binding == Binding.TTFT and "ttft" in factors else None
        k = factors[key] if key else factors.get("itl", next(iter(factors.values())))
        spans = [k, factors.get("latency", k)]
        q_low, q_high = advisor.predictor.async_q_calibrated_
        centre = qps / k
        low = min(qps / f for f in spans) * math.exp(min(q_low, 0.0))
        high = max(qps / f for f in spans) * math.exp(max(q_high, 0.0))
        ratios = ", ".join(f"{m} x{f:.3g}" for m, f in factors.items())
        source = (
            f"{said}, calibrated on this cell's synchronous run ({ratios} the load model's "
            f"at {rate:.3g} requests/s) to {centre:.3g} [{low:.3g}, {high:.3g}]"
        )
        return Guidance(prior=Prior(max_qps=centre, low=low, high=high, source=source), note=source)


def _factors(
    measured: dict[str, float | None], there: Option, decode_tokens: int
) -> dict[str, float]:
    """measured / predicted, per figure both have; with both, also of the request's latency."""
    predicted = {"ttft": there.ttft_ms, "itl": there.itl_ms}
    out = {}
    for metric, value in measured.items():
        guess = predicted[metric]
        if value and guess and guess > 0 and math.isfinite(guess):
            out[metric] = value / guess
    if len(out) == 2:
        steps = decode_tokens - 1

        def latency(figures: dict[str, float | None]) -> float:
            return float(figures["ttft"] or 0) + steps * float(figures["itl"] or 0)

        out["latency"] = latency(measured) / latency(predicted)
    return out
