"""The catalog's measurements as training sets for the performance models, and held-out
predictions by grouped cross-validation (scikit-learn's LeaveOneGroupOut)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from advisor.cells import Cell
from advisor.data import Snapshot
from advisor.hardware import fits
from advisor.latency import Shape, Terms, terms
from advisor.performance import COL, Array, Config, arrangements, async_bound, async_matrix

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

SHORT_DECODE_TOKENS = 256
# Blocks of the study whose configuration is ambiguous (see data/README.md): not fitted on.
AMBIGUOUS_SOURCES = ("study:table6:405b-16xh100-first",)


def cell_key(cell: Cell) -> tuple[object, ...]:
    return (
        cell.model.model,
        cell.format,
        cell.gpu.gpu,
        cell.gpu_count,
        cell.prefill_tokens,
        cell.decode_tokens,
    )


def limit_s(limit_ms: float | None) -> float:
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
    name = (engine or "vllm").strip().lower()
    return f"{name} {version.strip()}" if version else ""


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
    rows, arrangement, _ = arrangements_and_bounds(cells, ttft_s, itl_s)
    return rows, arrangement


def arrangements_and_bounds(
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
        ttft.append(limit_s(row.ttft_limit_ms))
        itl.append(limit_s(row.itl_limit_ms))
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


def as_pair(values: Sequence[float]) -> tuple[float, float]:
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
