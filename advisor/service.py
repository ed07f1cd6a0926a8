"""The advisor as one object: fitted models over a snapshot, answering queries.

`Advisor.fit(snapshot)` fits the performance and accuracy models; `advise(query)` resolves the
query, enumerates the candidates, evaluates them and hands them to the pure search; `predict`
evaluates configurations one by one. The edges (CLI, HTTP) build a Snapshot from the catalog,
read any config files, and call these; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from advisor import __version__
from advisor.accuracy import AccuracyModel
from advisor.candidates import blocked_reason, enumerate_candidates
from advisor.cells import Cell
from advisor.data import Snapshot
from advisor.deploy import deployment
from advisor.evaluate import evaluate
from advisor.hardware import ModelSpec, PriceList
from advisor.operating import LoadQuestion
from advisor.predictor import PerformancePredictor
from advisor.query import (
    MAX_GPUS,
    MAX_TOKENS,
    STUDY_ITL_LIMIT_MS,
    STUDY_TTFT_LIMIT_MS,
    Query,
    Resolved,
    resolve,
    validated,
)
from advisor.search import (
    LatencyLimitS,
    Option,
    Percentile,
    Rejected,
    Targets,
    Violation,
    recommend,
    violations,
)
from advisor.vocabulary import DEFAULT_PERCENTILE, Arrivals, Frozen, Mode, parse_format

__all__ = ["Advice", "Advisor", "PredictRequest", "Query", "Resolved", "predict", "validated"]


class Advice(Frozen):
    query: dict[str, Any] = Field(description="the query as resolved, defaults filled in")
    recommendation: dict[str, Any] | None = Field(description="the winner and its commands")
    alternatives: list[Option] = Field(description="the other feasible options, cheapest first")
    rejected: list[Rejected] = Field(description="every option that misses a target, and why")
    closest_misses: list[Rejected] = Field(description="when nothing fits: the nearest misses")
    message: str = Field(description="the answer in one line")


class Advisor:
    """Fitted models over one catalog snapshot."""

    def __init__(
        self, snapshot: Snapshot, predictor: PerformancePredictor, accuracy: AccuracyModel
    ) -> None:
        self.snapshot = snapshot
        self.predictor = predictor
        self.accuracy = accuracy
        self.version = __version__

    @classmethod
    def fit(cls, snapshot: Snapshot, coefficients: Mapping[str, Any] | None = None) -> Advisor:
        """Fit on `snapshot`, or rebuild from `coefficients()` of an earlier fit of the same
        snapshot (the edge caches them as JSON)."""
        performance = None if coefficients is None else coefficients["performance"]
        return cls(
            snapshot,
            PerformancePredictor().fit(snapshot, performance),
            AccuracyModel().fit(snapshot.accuracy, snapshot.models),
        )

    def coefficients(self) -> dict[str, Any]:
        """The fitted models' parameters as JSON values, tagged with the snapshot's digest."""
        return {
            "digest": self.snapshot.digest,
            "version": self.version,
            "performance": self.predictor.coefficients(),
        }

    def resolve(
        self, query: Query, prices: PriceList, local_models: Sequence[ModelSpec] = ()
    ) -> Resolved:
        return resolve(
            self.snapshot, self.accuracy, query, prices, local_models, self.predictor.engine_
        )

    def options(self, model: ModelSpec, resolved: Resolved, prices: PriceList) -> list[Option]:
        """Every candidate, predicted where it can be, blocked with a reason where not. One
        without a price is predicted all the same, and blocked as not priced afterwards."""
        blocked: list[Option] = []
        cells: list[Cell] = []
        unpriced: list[Violation | None] = []
        gpus = [self.snapshot.gpu(g) for g in resolved.gpu_types]
        context = resolved.context_tokens
        for gpu, fmt, count in enumerate_candidates(gpus, resolved.formats, resolved.gpu_counts):
            usd = prices.usd_per_hour(gpu.gpu, count)
            reason = blocked_reason(model, fmt, gpu, count, context, prices)
            if reason is not None and reason.reason != "no_price":
                blocked.append(
                    Option(
                        format=fmt, gpu=gpu.gpu, gpu_count=count, blocked=reason, usd_per_hour=usd
                    )
                )
                continue
            unpriced.append(reason)
            cells.append(
                Cell(
                    model=model,
                    format=fmt,
                    gpu=gpu,
                    gpu_count=count,
                    prefill_tokens=resolved.prefill_tokens,
                    decode_tokens=resolved.decode_tokens,
                    # Unstated, a measured cell is used on the engine it was measured on.
                    engine=resolved.engine if resolved.engine_stated else None,
                )
            )
        targets = resolved.targets
        recoveries = {
            fmt: self.accuracy.predict(model, fmt, targets.suite) for fmt in resolved.formats
        }
        evaluated = evaluate(
            self.predictor,
            cells,
            [prices.usd_per_hour(c.gpu.gpu, c.gpu_count) for c in cells],
            mode=targets.mode,
            question=load_question(targets),
            target_qps=targets.qps,
            recoveries=recoveries,
        )
        return [
            not_priced(o, r, targets) for o, r in zip(evaluated, unpriced, strict=True)
        ] + blocked

    def advise(
        self,
        query: Query,
        prices: PriceList | None = None,
        local_models: Sequence[ModelSpec] = (),
    ) -> Advice:
        """The answer to `query`; `local_models` are models the caller read from config files
        (the HTTP service never passes any: a remote caller cannot make it read files)."""
        prices = prices or self.snapshot.price_list()
        resolved = self.resolve(query, prices, local_models)
        model = self.snapshot.model(query.model, local_models)
        result = recommend(self.options(model, resolved, prices), resolved.targets)
        winner = None
        if result.recommendation is not None:
            best = result.recommendation
            winner = {
                **best.model_dump(mode="json"),
                **deployment(
                    model,
                    best,
                    self.snapshot.gpu(best.gpu),
                    resolved.targets.mode,
                    resolved.prefill_tokens,
                    resolved.decode_tokens,
                    self.snapshot.checkpoints,
                    resolved.use_case,
                ),
            }
            message = f"{best.format.value} on {best.gpu_count} x {best.gpu}" + (
                f" ({best.replicas} replicas of {best.tensor_parallel_size})"
                if (best.replicas or 1) > 1
                else ""
            )
        else:
            message = "nothing meets these targets; the closest misses are listed"
        missing = sorted({r.gpu for r in result.rejected if r.reason == "no_price"})
        if missing and winner is None:
            message = (
                "nothing priced meets these targets; not priced: "
                + ", ".join(missing)
                + " (add a price for them)"
            )
        return Advice(
            query={
                **resolved.document(),
                "params_b": model.arch.params_b,
                "active_params_b": model.arch.active_params_b,
                **prices.document(),
                "price_notes": prices.fallback_notes(resolved.gpu_types),
                "not_priced": missing,
                "version": self.version,
            },
            recommendation=winner,
            alternatives=result.alternatives,
            rejected=result.rejected,
            closest_misses=result.closest_misses,
            message=message,
        )


class PredictRequest(Frozen):
    """One configuration for `predict` (the columns of `advisor predict --input`)."""

    model: str = Field(min_length=1, description="model id, alias or HF id")
    format: str = Field(description="bf16, fp8, int8 or int4 (or an alias)")
    gpu: str = Field(description="GPU id or alias")
    gpu_count: int = Field(gt=0, le=MAX_GPUS, description="GPUs")
    prefill_tokens: int = Field(gt=0, le=MAX_TOKENS, description="prompt tokens")
    decode_tokens: int = Field(gt=0, le=MAX_TOKENS, description="output tokens")
    mode: Mode = Field(default=Mode.SYNC, description="sync or async")
    ttft_limit_ms: float | None = Field(
        default=STUDY_TTFT_LIMIT_MS, gt=0, description="async TTFT limit, ms"
    )
    itl_limit_ms: float | None = Field(
        default=STUDY_ITL_LIMIT_MS, gt=0, description="async ITL limit, ms"
    )
    latency_limit_s: LatencyLimitS = None
    percentile: Percentile = DEFAULT_PERCENTILE
    arrivals: Arrivals = Field(default=Arrivals.POISSON, description="poisson or constant")
    engine_version: str | None = Field(
        default=None, max_length=64, description="vLLM version (default: the newest measured)"
    )


def not_priced(option: Option, reason: Violation | None, targets: Targets) -> Option:
    """An evaluated option without a price, blocked as such, saying whether it would meet the
    targets otherwise; any other option as it is."""
    if reason is None:
        return option
    missed = violations(option, targets)
    detail = reason.detail + (
        "; would also miss: " + "; ".join(v.detail for v in missed)
        if missed
        else "; meets the targets otherwise"
    )
    return option.model_copy(update={"blocked": reason.model_copy(update={"detail": detail})})


def load_question(targets: Targets) -> LoadQuestion:
    """What the load model is asked in async mode: the limits, percentile, arrivals, load."""
    return LoadQuestion(
        ttft_limit_ms=targets.ttft_limit_ms,
        itl_limit_ms=targets.itl_limit_ms,
        latency_limit_s=targets.latency_limit_s,
        percentile=targets.percentile,
        arrivals=targets.arrivals,
        target_qps=targets.qps,
        headroom_pct=targets.headroom_pct,
    )


PREDICTION_COLUMNS = (
    "ttft_ms",
    "itl_ms",
    "latency_s",
    "max_qps",
    "usd_per_query",
    "label",
    "latency_s_lo",
    "latency_s_hi",
    "latency_bound_s",
    "max_qps_lo",
    "max_qps_hi",
    "tensor_parallel_size",
    "replicas",
    "usd_per_hour",
    "engine",
    "note",
    "operating_qps",
    "ttft_ms_lo",
    "ttft_ms_hi",
    "itl_ms_lo",
    "itl_ms_hi",
    "ttft_unloaded_ms",
    "itl_unloaded_ms",
    "binding_constraint",
    "max_qps_unconstrained",
)


def predict(
    advisor: Advisor,
    requests: list[PredictRequest],
    prices: PriceList | None = None,
    local_models: Sequence[ModelSpec] = (),
) -> list[dict[str, Any]]:
    """Predictions for many configurations at once (vectorised per mode and limits)."""
    prices = prices or advisor.snapshot.price_list()
    snap = advisor.snapshot
    results: list[dict[str, Any]] = [{} for _ in requests]
    groups: dict[tuple[Mode, LoadQuestion | None], list[tuple[int, Cell]]] = {}
    for index, request in enumerate(requests):
        model = snap.model(request.model, local_models)
        fmt = parse_format(request.format)
        gpu = snap.gpu(request.gpu)
        context = request.prefill_tokens + request.decode_tokens
        reason = blocked_reason(model, fmt, gpu, request.gpu_count, context, prices)
        results[index] = {"usd_per_hour": prices.usd_per_hour(gpu.gpu, request.gpu_count)}
        if gpu.runs_weight_only(fmt):
            results[index]["note"] = f"weight-only: {gpu.support_for(fmt).note}"
        if reason is not None:
            results[index]["note"] = reason.detail
            if reason.reason != "no_price":  # an unpriced configuration is still predicted
                continue
        cell = Cell(
            model=model,
            format=fmt,
            gpu=gpu,
            gpu_count=request.gpu_count,
            prefill_tokens=request.prefill_tokens,
            decode_tokens=request.decode_tokens,
            engine=f"vllm {request.engine_version}" if request.engine_version else None,
        )
        question = (
            LoadQuestion(
                ttft_limit_ms=request.ttft_limit_ms,
                itl_limit_ms=request.itl_limit_ms,
                latency_limit_s=request.latency_limit_s,
                percentile=request.percentile,
                arrivals=request.arrivals,
            )
            if request.mode is Mode.ASYNC
            else None
        )
        groups.setdefault((request.mode, question), []).append((index, cell))
    for (mode, question), group in groups.items():
        cells = [cell for _, cell in group]
        usd = [results[index]["usd_per_hour"] for index, _ in group]
        options = evaluate(advisor.predictor, cells, usd, mode=mode, question=question)
        for (index, _), option in zip(group, options, strict=True):
            results[index].update(option.model_dump(mode="json", exclude_none=True))
    return [{column: row.get(column) for column in PREDICTION_COLUMNS} for row in results]
