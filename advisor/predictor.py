"""Fit the performance models on a catalog snapshot; predict any configuration with a label
(measured / interpolated / extrapolated) and an 80% interval from held-out error."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from advisor.data import Snapshot
from advisor.hardware import Gpu, ModelSpec, fits
from advisor.latency import Shape, Terms, components, terms
from advisor.performance import (
    COL,
    Array,
    Config,
    arrangements,
    async_bound,
    async_matrix,
    async_qps,
)
from advisor.vocabulary import Format, Frozen, Label

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

SHORT_DECODE_TOKENS = 256
# Blocks of the study whose configuration is ambiguous (see data/README.md): not fitted on.
AMBIGUOUS_SOURCES = ("study:table6:405b-16xh100-first",)
# Measured figures still carry run-to-run noise; their interval is +-5%.
MEASURED_SPREAD = 0.05
# Outside the measured region the held-out error quantiles are doubled (in log space).
EXTRAPOLATION_WIDENING = 2.0


class Cell(Frozen):
    """One configuration to predict."""

    model: ModelSpec
    format: Format
    gpu: Gpu
    gpu_count: int = Field(gt=0)
    prefill_tokens: int = Field(gt=0)
    decode_tokens: int = Field(gt=0)
    engine: str | None = Field(
        default=None, description="serving engine and version, e.g. 'vllm 0.7.2' (default: newest)"
    )


class SyncPrediction(Frozen):
    ttft_ms: float = Field(description="time to first token, one request alone")
    itl_ms: float = Field(description="inter-token latency, one request alone")
    latency_s: float = Field(description="end-to-end latency")
    latency_s_lo: float = Field(description="80% interval, low")
    latency_s_hi: float = Field(description="80% interval, high")
    latency_bound_s: float = Field(description="roofline: no deployment can be faster")
    overhead_s: float = Field(description="per-request cost outside TTFT and ITL")
    engine: str = Field(description="the serving engine the prediction is for")
    label: Label


class AsyncPrediction(Frozen):
    max_qps: float = Field(description="highest request rate within the TTFT/ITL limits")
    max_qps_lo: float = Field(description="80% interval, low")
    max_qps_hi: float = Field(description="80% interval, high")
    max_qps_unconstrained: float = Field(description="highest request rate without limits")
    tensor_parallel_size: int = Field(description="GPUs per replica in the best arrangement")
    replicas: int = Field(description="replicas in the GPU budget")
    label: Label


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


def _key(cell: Cell) -> tuple[object, ...]:
    return (
        cell.model.model,
        cell.format,
        cell.gpu.gpu,
        cell.gpu_count,
        cell.prefill_tokens,
        cell.decode_tokens,
    )


def _limit_s(limit_ms: float | None) -> float:
    return math.inf if limit_ms is None else limit_ms / 1000


@dataclass
class TrainingSet:
    X: Array
    y: Array
    cells: list[Cell]
    use_cases: list[str]
    configs: list[str]
    clean: Array
    sources: list[str]
    models: list[str] = field(default_factory=list)
    gpus: list[str] = field(default_factory=list)
    engines: list[str] = field(default_factory=list)


def engine_name(engine: str | None, version: str | None) -> str:
    """'vllm 0.7.2', or '' when the version is unknown."""
    return f"{engine or 'vllm'} {version}" if version else ""


def newest_engine(engines: Sequence[str]) -> str:
    """The newest engine version among `engines` (the default a prediction is made for)."""
    from packaging.version import InvalidVersion, Version

    def order(name: str) -> tuple[int, Version]:
        try:
            return (1, Version(name.rsplit(" ", 1)[-1]))
        except InvalidVersion:
            return (0, Version("0"))

    known = [e for e in engines if e]
    return max(known, key=order) if known else ""


def shape_of(cell: Cell, tp: int, engine: str) -> Shape:
    return Shape(
        model=cell.model,
        format=cell.format,
        gpu=cell.gpu,
        tp=tp,
        prefill_tokens=cell.prefill_tokens,
        decode_tokens=cell.decode_tokens,
        engine=engine,
    )


def sync_training(snapshot: Snapshot, with_terms: bool = True) -> TrainingSet:
    """The synchronous rows as cells, and (`with_terms`) their latency-model terms as X."""
    cells, y, use_cases, configs, clean, sources, engines = [], [], [], [], [], [], []
    for row in snapshot.sync:
        engine = engine_name(row.engine, row.engine_version)
        cell = Cell(
            model=snapshot.model(row.model),
            format=row.format,
            gpu=snapshot.gpu(row.gpu),
            gpu_count=row.gpu_count,
            prefill_tokens=row.prefill_tokens,
            decode_tokens=row.decode_tokens,
            engine=engine,
        )
        cells.append(cell)
        y.append(row.latency_s)
        use_cases.append(row.use_case or f"{row.prefill_tokens}/{row.decode_tokens}")
        configs.append(f"{row.model}/{row.format}/{row.gpu}/{row.gpu_count}/{engine}")
        clean.append(row.decode_flag is None)
        sources.append(row.source)
        engines.append(engine)
    X = np.empty(len(cells) if with_terms else 0, dtype=object)
    if with_terms:
        X[:] = [terms(shape_of(c, c.gpu_count, c.engine or "")) for c in cells]
    return TrainingSet(
        X,
        np.array(y, dtype=float),
        cells,
        use_cases,
        configs,
        np.array(clean, dtype=bool),
        sources,
        models=[c.model.model for c in cells],
        gpus=[c.gpu.gpu for c in cells],
        engines=engines,
    )


def _config(cell: Cell, tp: int, replicas: int) -> Config:
    return Config(
        arch=cell.model.arch,
        fmt=cell.format,
        gpu=cell.gpu,
        tp=tp,
        replicas=replicas,
        prefill=cell.prefill_tokens,
        decode=cell.decode_tokens,
    )


def best_arrangements(
    cells: Sequence[Cell], ttft_s: Sequence[float], itl_s: Sequence[float]
) -> tuple[Array, list[tuple[int, int]]]:
    """For each cell, the roofline-best (tp, replicas) and its async quantity row."""
    rows, arrangement, _ = _best_arrangements(cells, ttft_s, itl_s)
    return rows, arrangement


def _best_arrangements(
    cells: Sequence[Cell], ttft_s: Sequence[float], itl_s: Sequence[float]
) -> tuple[Array, list[tuple[int, int]], Array]:
    """best_arrangements, plus the roofline QPS of each chosen row (0 where nothing fits)."""
    rows: list[Config] = []
    owners: list[int] = []
    limits_t: list[float] = []
    limits_i: list[float] = []
    for index, cell in enumerate(cells):
        context = cell.prefill_tokens + cell.decode_tokens
        for tp, replicas in arrangements(cell.gpu_count, cell.gpu.nodes_of):
            if fits(cell.model.arch, cell.format, cell.gpu, tp, context):
                rows.append(_config(cell, tp, replicas))
                owners.append(index)
                limits_t.append(ttft_s[index])
                limits_i.append(itl_s[index])
    width = len(COL) + 2
    best_rows = np.full((len(cells), width), np.nan)
    best_arr = [(cell.gpu_count, 1) for cell in cells]
    if not rows:
        return best_rows, best_arr, np.zeros(len(cells))
    X = async_matrix(rows, limits_t, limits_i)
    bound = async_bound(X)
    best_value = np.full(len(cells), -1.0)
    for row, owner, value, config in zip(X, owners, bound, rows, strict=True):
        if value > best_value[owner]:
            best_value[owner] = value
            best_rows[owner] = row
            best_arr[owner] = (config.tp, config.replicas)
    return best_rows, best_arr, np.maximum(best_value, 0.0)


def async_training(snapshot: Snapshot, with_quantities: bool = True) -> TrainingSet:
    """The asynchronous rows as cells, and (`with_quantities`) the roofline quantities of each
    one's best arrangement as X (a bisection per row: skipped when only cells are needed)."""
    cells, y, use_cases, configs, clean, sources, ttft, itl = [], [], [], [], [], [], [], []
    for row in snapshot.async_:
        cells.append(
            Cell(
                model=snapshot.model(row.model),
                format=row.format,
                gpu=snapshot.gpu(row.gpu),
                gpu_count=row.gpu_count,
                prefill_tokens=row.prefill_tokens,
                decode_tokens=row.decode_tokens,
            )
        )
        y.append(row.max_qps)
        use_cases.append(row.use_case or f"{row.prefill_tokens}/{row.decode_tokens}")
        configs.append(f"{row.source}/{row.model}/{row.format}/{row.gpu}/{row.gpu_count}")
        # Long-decode cells ended early (data/README.md): predicted, not fitted on or scored.
        clean.append(row.source not in AMBIGUOUS_SOURCES and row.decode_flag is None)
        sources.append(row.source)
        ttft.append(_limit_s(row.ttft_limit_ms))
        itl.append(_limit_s(row.itl_limit_ms))
    X = best_arrangements(cells, ttft, itl)[0] if with_quantities else np.empty((0, 0))
    return TrainingSet(X, np.array(y), cells, use_cases, configs, np.array(clean), sources)


def held_out(estimator: BaseEstimator, data: TrainingSet, groups: Sequence[str]) -> Array:
    """Predictions for each group by a model fitted on the clean rows of all other groups
    (scikit-learn's LeaveOneGroupOut; rows that cannot be predicted stay NaN)."""
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict

    usable = np.array([_predictable(x) for x in data.X], dtype=bool)
    predictions = np.full(len(data.y), np.nan)
    groups_ = np.asarray(groups)[usable]
    if len(np.unique(groups_)) < 2:
        return predictions
    predictions[usable] = cross_val_predict(
        estimator,
        data.X[usable],
        data.y[usable],
        groups=groups_,
        cv=LeaveOneGroupOut(),
        params={"sample_weight": data.clean[usable].astype(float)},
    )
    return predictions


def _pair(values: Sequence[float]) -> tuple[float, float]:
    low, high = values
    return float(low), float(high)


def _predictable(x: object) -> bool:
    # Limits of inf mean "no limit"; NaN marks a row no arrangement of the budget can serve.
    return isinstance(x, Terms) or not bool(np.isnan(np.asarray(x, dtype=float)).any())


def log_error_quantiles(predicted: Array, measured: Array, mask: Array) -> tuple[float, float]:
    """10th and 90th percentiles of log(measured / predicted): the 80% interval's factors."""
    ok = mask & np.isfinite(predicted) & (predicted > 0) & (measured > 0)
    if ok.sum() < 5:
        return (-0.5, 0.5)
    errors = np.log(measured[ok] / predicted[ok])
    return float(np.percentile(errors, 10)), float(np.percentile(errors, 90))


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
        self.sync_q_ = _pair(coefficients["sync_q"])
        self.async_coef_ = np.asarray(coefficients["async_coef"], dtype=float)
        self.async_intercept_ = float(coefficients["async_intercept"])
        self.async_q_ = _pair(coefficients["async_q"])
        self.engine_ = newest_engine(sync.engines)
        self.domain_ = Domain()
        for cell in sync.cells + asy.cells:
            self.domain_.add(cell)
        # Measured cells by configuration and shape, then by engine.
        self.sync_measured_: dict[tuple[object, ...], dict[str, float]] = {}
        for cell, latency, ok in zip(sync.cells, sync.y, sync.clean, strict=True):
            if ok:
                self.sync_measured_.setdefault(_key(cell), {})[cell.engine or ""] = latency
        self.async_measured_: dict[tuple[object, ...], float] = {}
        # Measured values are used unless they are physically impossible: the long-decode async
        # cells are suspect (not fitted on) but, unlike the synchronous ones, not impossible.
        for row, cell in zip(snapshot.async_, asy.cells, strict=True):
            if row.source not in AMBIGUOUS_SOURCES:
                key = (*_key(cell), row.ttft_limit_ms, row.itl_limit_ms)
                self.async_measured_[key] = max(self.async_measured_.get(key, 0.0), row.max_qps)
        return self

    @staticmethod
    def _fit(sync: TrainingSet, asy: TrainingSet) -> dict[str, Any]:
        from advisor.estimators import AsyncThroughputModel, SyncLatencyModel

        weight = sync.clean.astype(float)
        sync_model = SyncLatencyModel().fit(sync.X, sync.y, sample_weight=weight)
        sync_q = log_error_quantiles(
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
        found = self.sync_measured_.get(_key(cell), {})
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
        parts = components(
            self.sync_params_,
            [terms(shape_of(c, c.gpu_count, e)) for c, e in zip(cells, engines, strict=True)],
        )
        out = []
        for i, cell in enumerate(cells):
            latency = float(parts.latency_s[i])
            measured = measurements[i][1]
            label = Label.MEASURED if measured is not None else self.label(cell)
            scale = 1.0 if measured is None else measured / latency
            lo, hi = self._factors(self.sync_q_, label)
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
        limited, arrangement, bound = _best_arrangements(
            cells, [_limit_s(ttft_limit_ms)] * n, [_limit_s(itl_limit_ms)] * n
        )
        free, _, free_bound = _best_arrangements(cells, [math.inf] * n, [math.inf] * n)
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
            measured = self.async_measured_.get((*_key(cell), ttft_limit_ms, itl_limit_ms))
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
