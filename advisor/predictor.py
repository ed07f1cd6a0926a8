"""Fit the performance models on a catalog snapshot; predict any configuration with a label
(measured / interpolated / extrapolated) and an 80% interval from held-out error."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from advisor.cells import AsyncPrediction, Cell, SetAside, SyncPrediction, shape_of
from advisor.data import LoadPoint, Snapshot
from advisor.latency import components, is_calibrated, terms
from advisor.load_curve import configurations, matches_shape, read_curve, saturation
from advisor.load_fit import PointObservation, arrangements, configuration
from advisor.operating import Interval, LoadQuestion, predict_operating
from advisor.training import (
    AMBIGUOUS_SOURCES,
    PUBLISHED_ARRIVALS,
    PUBLISHED_PERCENTILE,
    SHORT_DECODE_TOKENS,
    TrainingSet,
    as_pair,
    async_training,
    cell_key,
    held_out,
    log_error_quantiles,
    newest_engine,
    sync_training,
)
from advisor.vocabulary import Arrivals, Format, Label, Strategy

__all__ = [
    "SHORT_DECODE_TOKENS",
    "AsyncPrediction",
    "Cell",
    "LoadQuestion",
    "PerformancePredictor",
    "SyncPrediction",
]

# Measured figures still carry run-to-run noise; their interval is +-5%.
MEASURED_SPREAD = 0.05
# Outside the measured region the held-out error quantiles are doubled (in log space).
EXTRAPOLATION_WIDENING = 2.0
# A mixture-of-experts model, until the catalog holds measurements of one, is further from
# anything fitted than any dense model: its fused expert kernels, its routing (the load model
# assumes uniform routing, the most experts a batch can touch) and its expert-parallel
# imbalance were never measured, and no held-out error of a MoE model exists to size its
# interval. So its interval is the extrapolated one widened a further 1.5x in log space
# (3x the held-out-model error in all), and it is always labelled extrapolated.
MOE_UNMEASURED_WIDENING = 1.5


@dataclass
class Domain:
    """Where the models were fitted: predictions outside are extrapolated."""

    pairs: set[tuple[Format, str]] = field(default_factory=set)
    architectures: set[str] = field(default_factory=set)
    mixture_of_experts: bool = False  # whether any measured model is one
    params_b: tuple[float, float] = (math.inf, -math.inf)
    max_count: int = 0
    prefill: tuple[int, int] = (10**9, 0)
    decode: tuple[int, int] = (10**9, 0)

    def add(self, cell: Cell) -> None:
        self.pairs.add((cell.format, cell.gpu.gpu))
        self.architectures.add(cell.model.arch.architecture)
        self.mixture_of_experts |= cell.model.arch.experts is not None
        p = cell.model.arch.params_b
        self.params_b = (min(self.params_b[0], p), max(self.params_b[1], p))
        self.max_count = max(self.max_count, cell.gpu_count)
        self.prefill = (
            min(self.prefill[0], cell.prefill_tokens),
            max(self.prefill[1], cell.prefill_tokens),
        )
        self.decode = (
            min(self.decode[0], cell.decode_tokens),
            max(self.decode[1], cell.decode_tokens),
        )

    def contains(self, cell: Cell) -> bool:
        return (
            (cell.format, cell.gpu.gpu) in self.pairs  # this format was measured on this GPU
            and cell.model.arch.architecture in self.architectures  # and this model class
            and self.params_b[0] * 0.999 <= cell.model.arch.params_b <= self.params_b[1] * 1.001
            and cell.gpu_count <= self.max_count
            and self.prefill[0] <= cell.prefill_tokens <= self.prefill[1]
            and self.decode[0] <= cell.decode_tokens <= self.decode[1]
        )


def observations(snapshot: Snapshot) -> list[PointObservation]:
    """The load points that calibrate the load model: unsaturated, with a median ITL."""
    out = []
    for points in configurations(snapshot.load_points).values():
        for point, saturated in zip(points, saturation(points), strict=True):
            usable = point.prefill_tokens and point.decode_tokens and point.decode_tokens > 1
            if saturated or not usable or not point.itl_p50_ms or not point.achieved_rps:
                continue
            poisson = point.strategy is Strategy.POISSON
            out.append(
                PointObservation(
                    cell=Cell(
                        model=snapshot.model(point.model),
                        format=point.format,
                        gpu=snapshot.gpu(point.gpu),
                        gpu_count=point.gpu_count,
                        prefill_tokens=point.prefill_tokens or 1,
                        decode_tokens=point.decode_tokens or 1,
                    ),
                    rate=point.achieved_rps,
                    itl_p50_s=point.itl_p50_ms / 1000,
                    arrivals=Arrivals.POISSON if poisson else Arrivals.CONSTANT,
                    ttft_p99_s=point.ttft_p99_ms / 1000 if point.ttft_p99_ms else None,
                    itl_p99_s=point.itl_p99_ms / 1000 if point.itl_p99_ms else None,
                )
            )
    return out


class PerformancePredictor:
    """Both performance models, fitted on a snapshot, with measured values where they exist."""

    def fit(
        self, snapshot: Snapshot, coefficients: Mapping[str, Any] | None = None
    ) -> PerformancePredictor:
        """Fit both models, or take `coefficients` (from `coefficients()`, e.g. a cache) and
        derive only the cheap rest (measured cells, the fitted region) from the snapshot."""
        fitting = coefficients is None
        sync = sync_training(snapshot, with_terms=fitting)
        asy = async_training(snapshot)
        self.engine_ = newest_engine(sync.engines)
        if coefficients is None:
            coefficients = self._fit(sync, asy, self.engine_, observations(snapshot))
        self.sync_params_: dict[str, float] = dict(coefficients["sync_params"])
        self.sync_q_ = as_pair(coefficients["sync_q"])
        self.sync_q_calibrated_ = as_pair(coefficients["sync_q_calibrated"])
        self.load_params_: dict[str, float] = dict(coefficients["load_params"])
        self.async_q_ = as_pair(coefficients["async_q"])
        self.async_q_calibrated_ = as_pair(coefficients["async_q_calibrated"])
        self.domain_ = Domain()
        for cell in sync.cells + asy.cells:
            self.domain_.add(cell)
        # Measured cells by configuration and shape, then by engine.
        self.sync_measured_: dict[tuple[object, ...], dict[str, float]] = {}
        # And those hygiene set aside, to be shown beside a prediction of the same cell.
        self.sync_set_aside_: dict[tuple[object, ...], SetAside] = {}
        for cell, latency, ok, measured_row in zip(
            sync.cells, sync.y, sync.clean, snapshot.sync, strict=True
        ):
            if ok:
                self.sync_measured_.setdefault(cell_key(cell), {})[cell.engine or ""] = latency
            elif measured_row.decode_flag is not None:
                self.sync_set_aside_[cell_key(cell)] = SetAside(
                    latency_s=latency,
                    decode_flag=measured_row.decode_flag,
                    reason=measured_row.decode_reason or measured_row.decode_flag,
                    source=measured_row.source,
                    engine=cell.engine or "",
                )
        self.async_measured_: dict[tuple[object, ...], float] = {}
        # Measured values are used unless they are physically impossible: the long-decode async
        # cells are suspect (not fitted on) but, unlike the synchronous ones, not impossible.
        for row, cell in zip(snapshot.async_, asy.cells, strict=True):
            if row.source not in AMBIGUOUS_SOURCES:
                key = (*cell_key(cell), row.ttft_limit_ms, row.itl_limit_ms)
                self.async_measured_[key] = max(self.async_measured_.get(key, 0.0), row.max_qps)
        # A team's GuideLLM curves, by deployment: read under each question's own limits.
        self.curves_: dict[tuple[object, ...], list[list[LoadPoint]]] = {}
        for key, points in configurations(snapshot.load_points).items():
            deployment = (key.model, key.format, key.gpu, key.gpu_count)
            self.curves_.setdefault(deployment, []).append(points)
        return self

    @staticmethod
    def _fit(
        sync: TrainingSet, asy: TrainingSet, engine: str, points: Sequence[PointObservation]
    ) -> dict[str, Any]:
        from advisor.estimators import AsyncLoadModel, SyncLatencyModel

        weight = sync.clean.astype(float)
        sync_model = SyncLatencyModel().fit(sync.X, sync.y, sample_weight=weight)
        # Intervals: a configuration with its own measurements errs like a held-out use case
        # of a calibrated configuration; any other like a held-out model.
        sync_q = log_error_quantiles(
            held_out(SyncLatencyModel(), sync, sync.models), sync.y, sync.clean
        )
        sync_q_calibrated = log_error_quantiles(
            held_out(SyncLatencyModel(), sync, sync.use_cases), sync.y, sync.clean
        )
        load = AsyncLoadModel(sync_model.params_, engine, tuple(points))
        fitted = load.fit(asy.X, asy.y, sample_weight=asy.clean.astype(float))
        async_q = log_error_quantiles(held_out(load, asy, asy.models), asy.y, asy.clean)
        async_q_calibrated = log_error_quantiles(
            held_out(load, asy, asy.use_cases), asy.y, asy.clean
        )
        return {
            "sync_params": sync_model.params_,
            "sync_q": list(sync_q),
            "sync_q_calibrated": list(sync_q_calibrated),
            "load_params": fitted.params_,
            "async_q": list(async_q),
            "async_q_calibrated": list(async_q_calibrated),
        }

    def coefficients(self) -> dict[str, Any]:
        """What the fit learned, as plain JSON values: `fit(snapshot, coefficients)` rebuilds
        the same predictor without fitting."""
        return {
            "sync_params": dict(self.sync_params_),
            "sync_q": list(self.sync_q_),
            "sync_q_calibrated": list(self.sync_q_calibrated_),
            "load_params": dict(self.load_params_),
            "async_q": list(self.async_q_),
            "async_q_calibrated": list(self.async_q_calibrated_),
        }

    def _unmeasured_moe(self, cell: Cell) -> bool:
        return cell.model.arch.experts is not None and not self.domain_.mixture_of_experts

    def label(self, cell: Cell) -> Label:
        """Interpolated inside the fitted region, unless the model is an unmeasured mixture of
        experts, the GPU's kernel path was never measured anywhere (weight-only) or the figures
        the prediction rests on are estimates."""
        if (
            self._unmeasured_moe(cell)
            or cell.gpu.extrapolates(cell.format, cell.gpu_count)
            or not self.domain_.contains(cell)
        ):
            return Label.EXTRAPOLATED
        return Label.INTERPOLATED

    def widening(self, cell: Cell, label: Label) -> float:
        """The factor on the held-out error quantiles (log space) of an unmeasured cell."""
        widen = EXTRAPOLATION_WIDENING if label is Label.EXTRAPOLATED else 1.0
        return widen * (MOE_UNMEASURED_WIDENING if self._unmeasured_moe(cell) else 1.0)

    def _factors(self, q: tuple[float, float], label: Label, widen: float) -> tuple[float, float]:
        if label is Label.MEASURED:
            return 1 - MEASURED_SPREAD, 1 + MEASURED_SPREAD
        return math.exp(min(q[0], 0.0) * widen), math.exp(max(q[1], 0.0) * widen)

    def _measured_sync(self, cell: Cell) -> tuple[str, float | None]:
        """(engine, measured latency or None) for a cell: a cell asked for without an engine
        takes the newest engine it was measured on, else the newest in the catalog."""
        found = self.sync_measured_.get(cell_key(cell), {})
        if cell.engine is not None:
            return cell.engine, found.get(cell.engine)
        if found:
            engine = newest_engine(list(found)) or next(iter(found))
            return engine, found[engine]
        return self.engine_, None

    def predict_sync(self, cells: Sequence[Cell]) -> list[SyncPrediction]:
        if not cells:
            return []
        measurements = [self._measured_sync(c) for c in cells]
        engines = [m[0] for m in measurements]
        shapes = [terms(shape_of(c, c.gpu_count, e)) for c, e in zip(cells, engines, strict=True)]
        parts = components(self.sync_params_, shapes)
        out = []
        for i, cell in enumerate(cells):
            latency = float(parts.latency_s[i])
            measured = measurements[i][1]
            label = Label.MEASURED if measured is not None else self.label(cell)
            scale = 1.0 if measured is None else measured / latency
            own = is_calibrated(self.sync_params_, shapes[i])
            q = self.sync_q_calibrated_ if own else self.sync_q_
            lo, hi = self._factors(q, label, self.widening(cell, label))
            value = latency * scale
            bound = float(parts.bound_s[i])
            out.append(
                SyncPrediction(
                    ttft_ms=float(parts.ttft_s[i]) * scale * 1000,
                    itl_ms=float(parts.itl_s[i]) * scale * 1000,
                    latency_s=value,
                    latency_s_lo=max(value * lo, bound),
                    latency_s_hi=value * hi,
                    latency_bound_s=bound,
                    overhead_s=float(parts.request_s[i]) * scale,
                    engine=engines[i],
                    label=label,
                    set_aside=None if measured else self.sync_set_aside_.get(cell_key(cell)),
                )
            )
        return out

    def _measured_async(self, cell: Cell, question: LoadQuestion) -> float | None:
        """A measured max QPS of exactly this question: unconstrained throughput whatever the
        percentile, or the published limits at the percentile and arrivals they assume."""
        if question.latency_limit_s is not None:
            return None
        if not question.unconstrained and (
            question.percentile != PUBLISHED_PERCENTILE
            or question.arrivals is not PUBLISHED_ARRIVALS
        ):
            return None
        key = (*cell_key(cell), question.ttft_limit_ms, question.itl_limit_ms)
        return self.async_measured_.get(key)

    def _measured_curve(self, cell: Cell, question: LoadQuestion) -> float | None:
        """The max QPS read from the deployment's own GuideLLM curve at the question's limits
        and percentile, where its points bracket it."""
        deployment = (cell.model.model, cell.format, cell.gpu.gpu, cell.gpu_count)
        for points in self.curves_.get(deployment, []):
            if not matches_shape(points[0], cell.prefill_tokens, cell.decode_tokens):
                continue
            reading = read_curve(
                points,
                ttft_limit_ms=question.ttft_limit_ms,
                itl_limit_ms=question.itl_limit_ms,
                latency_limit_s=question.latency_limit_s,
                percentile=question.percentile,
            )
            if reading is not None and reading.measured:
                return reading.max_qps
        return None

    def predict_async(self, cells: Sequence[Cell], question: LoadQuestion) -> list[AsyncPrediction]:
        """Each cell's max QPS within the question's limits, and its figures at the operating
        point (the max QPS, or with a target load, the load over the deployments it needs)."""
        if not cells:
            return []
        measured = []
        for cell in cells:
            value = self._measured_curve(cell, question)
            measured.append(self._measured_async(cell, question) if value is None else value)
        labels = [
            Label.MEASURED if m is not None else self.label(c)
            for c, m in zip(cells, measured, strict=True)
        ]
        intervals = []
        for cell, label in zip(cells, labels, strict=True):
            if label is Label.MEASURED:
                low, high = math.log(1 - MEASURED_SPREAD), math.log(1 + MEASURED_SPREAD)
            else:
                own = any(
                    f"calibration[{configuration(cell, tp)}]" in self.load_params_
                    for tp, _ in arrangements(cell.gpu_count, cell.gpu.nodes_of)
                )
                q = self.async_q_calibrated_ if own else self.async_q_
                widen = self.widening(cell, label)
                low, high = min(q[0], 0.0) * widen, max(q[1], 0.0) * widen
            intervals.append(Interval(low, high))
        return predict_operating(
            cells,
            question,
            self.sync_params_,
            self.load_params_,
            self.engine_,
            measured,
            labels,
            intervals,
        )
