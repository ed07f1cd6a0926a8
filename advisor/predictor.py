"""Fit the performance models on a catalog snapshot; predict any configuration with a label
(measured / interpolated / extrapolated) and an 80% interval from held-out error."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from advisor.cells import AsyncPrediction, Cell, SyncPrediction
from advisor.data import Snapshot
from advisor.latency import components, is_calibrated, terms
from advisor.performance import async_qps
from advisor.training import (
    AMBIGUOUS_SOURCES,
    SHORT_DECODE_TOKENS,
    TrainingSet,
    arrangements_and_bounds,
    as_pair,
    async_training,
    best_arrangements,
    cell_key,
    held_out,
    limit_s,
    log_error_quantiles,
    newest_engine,
    shape_of,
    sync_training,
)
from advisor.vocabulary import Format, Label

__all__ = [
    "SHORT_DECODE_TOKENS",
    "AsyncPrediction",
    "Cell",
    "PerformancePredictor",
    "SyncPrediction",
    "best_arrangements",
]

# Measured figures still carry run-to-run noise; their interval is +-5%.
MEASURED_SPREAD = 0.05
# Outside the measured region the held-out error quantiles are doubled (in log space).
EXTRAPOLATION_WIDENING = 2.0


@dataclass
class Domain:
    """Where the models were fitted: predictions outside are extrapolated."""

    pairs: set[tuple[Format, str]] = field(default_factory=set)
    architectures: set[str] = field(default_factory=set)
    params_b: tuple[float, float] = (math.inf, -math.inf)
    max_count: int = 0
    prefill: tuple[int, int] = (10**9, 0)
    decode: tuple[int, int] = (10**9, 0)

    def add(self, cell: Cell) -> None:
        self.pairs.add((cell.format, cell.gpu.gpu))
        self.architectures.add(cell.model.arch.architecture)
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


class PerformancePredictor:
    """Both performance models, fitted on a snapshot, with measured values where they exist."""

    def fit(
        self, snapshot: Snapshot, coefficients: Mapping[str, Any] | None = None
    ) -> PerformancePredictor:
        """Fit both models, or take `coefficients` (from `coefficients()`, e.g. a cache) and
        derive only the cheap rest (measured cells, the fitted region) from the snapshot."""
        fitting = coefficients is None
        sync = sync_training(snapshot, with_terms=fitting)
        asy = async_training(snapshot, with_quantities=fitting)
        if coefficients is None:
            coefficients = self._fit(sync, asy)
        self.sync_params_: dict[str, float] = dict(coefficients["sync_params"])
        self.sync_q_ = as_pair(coefficients["sync_q"])
        self.sync_q_calibrated_ = as_pair(coefficients["sync_q_calibrated"])
        self.async_coef_ = np.asarray(coefficients["async_coef"], dtype=float)
        self.async_intercept_ = float(coefficients["async_intercept"])
        self.async_q_ = as_pair(coefficients["async_q"])
        self.engine_ = newest_engine(sync.engines)
        self.domain_ = Domain()
        for cell in sync.cells + asy.cells:
            self.domain_.add(cell)
        # Measured cells by configuration and shape, then by engine.
        self.sync_measured_: dict[tuple[object, ...], dict[str, float]] = {}
        for cell, latency, ok in zip(sync.cells, sync.y, sync.clean, strict=True):
            if ok:
                self.sync_measured_.setdefault(cell_key(cell), {})[cell.engine or ""] = latency
        self.async_measured_: dict[tuple[object, ...], float] = {}
        # Measured values are used unless they are physically impossible: the long-decode async
        # cells are suspect (not fitted on) but, unlike the synchronous ones, not impossible.
        for row, cell in zip(snapshot.async_, asy.cells, strict=True):
            if row.source not in AMBIGUOUS_SOURCES:
                key = (*cell_key(cell), row.ttft_limit_ms, row.itl_limit_ms)
                self.async_measured_[key] = max(self.async_measured_.get(key, 0.0), row.max_qps)
        return self

    @staticmethod
    def _fit(sync: TrainingSet, asy: TrainingSet) -> dict[str, Any]:
        from advisor.estimators import AsyncThroughputModel, SyncLatencyModel

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
        train = asy.clean & ~np.isnan(asy.X).any(axis=1)
        fitted = AsyncThroughputModel().fit(asy.X[train], asy.y[train])
        async_q = log_error_quantiles(
            held_out(AsyncThroughputModel(), asy, asy.use_cases), asy.y, asy.clean
        )
        return {
            "sync_params": sync_model.params_,
            "sync_q": list(sync_q),
            "sync_q_calibrated": list(sync_q_calibrated),
            "async_coef": [float(c) for c in fitted.coef_],
            "async_intercept": float(fitted.intercept_),
            "async_q": list(async_q),
        }

    def coefficients(self) -> dict[str, Any]:
        """What the fit learned, as plain JSON values: `fit(snapshot, coefficients)` rebuilds
        the same predictor without fitting."""
        return {
            "sync_params": dict(self.sync_params_),
            "sync_q": list(self.sync_q_),
            "sync_q_calibrated": list(self.sync_q_calibrated_),
            "async_coef": [float(c) for c in self.async_coef_],
            "async_intercept": self.async_intercept_,
            "async_q": list(self.async_q_),
        }

    def label(self, cell: Cell) -> Label:
        return Label.INTERPOLATED if self.domain_.contains(cell) else Label.EXTRAPOLATED

    def _factors(self, q: tuple[float, float], label: Label) -> tuple[float, float]:
        if label is Label.MEASURED:
            return 1 - MEASURED_SPREAD, 1 + MEASURED_SPREAD
        widen = EXTRAPOLATION_WIDENING if label is Label.EXTRAPOLATED else 1.0
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
            lo, hi = self._factors(self.sync_q_calibrated_ if own else self.sync_q_, label)
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
                )
            )
        return out

    def predict_async(
        self, cells: Sequence[Cell], ttft_limit_ms: float | None, itl_limit_ms: float | None
    ) -> list[AsyncPrediction]:
        if not cells:
            return []
        n = len(cells)
        limited, arrangement, bound = arrangements_and_bounds(
            cells, [limit_s(ttft_limit_ms)] * n, [limit_s(itl_limit_ms)] * n
        )
        free, _, free_bound = arrangements_and_bounds(cells, [math.inf] * n, [math.inf] * n)
        ok = ~np.isnan(limited).any(axis=1)
        qps = np.zeros(n)
        qps_free = np.zeros(n)
        if ok.any():
            qps[ok] = async_qps(limited[ok], self.async_coef_, self.async_intercept_, bound[ok])
        ok_free = ~np.isnan(free).any(axis=1)
        if ok_free.any():
            qps_free[ok_free] = async_qps(
                free[ok_free], self.async_coef_, self.async_intercept_, free_bound[ok_free]
            )
        out = []
        for i, cell in enumerate(cells):
            measured = self.async_measured_.get((*cell_key(cell), ttft_limit_ms, itl_limit_ms))
            label = Label.MEASURED if measured is not None else self.label(cell)
            value = float(measured) if measured is not None else float(qps[i])
            lo, hi = self._factors(self.async_q_, label)
            tp, replicas = arrangement[i]
            out.append(
                AsyncPrediction(
                    max_qps=value,
                    max_qps_lo=value * lo,
                    max_qps_hi=value * hi,
                    max_qps_unconstrained=max(float(qps_free[i]), value),
                    tensor_parallel_size=tp,
                    replicas=replicas,
                    label=label,
                )
            )
        return out
