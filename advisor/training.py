"""The catalog's measurements as training sets for the performance models, and held-out
predictions by grouped cross-validation (scikit-learn's LeaveOneGroupOut)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from advisor.cells import Cell, shape_of
from advisor.data import Snapshot
from advisor.latency import Terms, terms
from advisor.load import Array
from advisor.load_fit import LoadCase
from advisor.vocabulary import Arrivals

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

SHORT_DECODE_TOKENS = 256
# Blocks of the study whose configuration is ambiguous (see data/README.md): not fitted on.
AMBIGUOUS_SOURCES = ("study:table6:405b-16xh100-first",)
# The published max QPS under limits (the study's Table 6) do not say at which percentile or
# arrivals they were measured. GuideLLM's sweeps run constant rates; of p50/p90/p99, with
# constant or Poisson arrivals, p99 with constant arrivals fits them best held out (README).
PUBLISHED_PERCENTILE = 99.0
PUBLISHED_ARRIVALS = Arrivals.CONSTANT


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

    # The grouping keys of the held-out figures, derived from the cells.
    @property
    def models(self) -> list[str]:
        return [c.model.model for c in self.cells]

    @property
    def gpus(self) -> list[str]:
        return [c.gpu.gpu for c in self.cells]

    @property
    def engines(self) -> list[str]:
        return [c.engine or "" for c in self.cells]


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


def sync_training(snapshot: Snapshot, with_terms: bool = True) -> TrainingSet:
    """The synchronous rows as cells, and (`with_terms`) their latency-model terms as X."""
    cells, y, use_cases, configs, clean, sources = [], [], [], [], [], []
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
    )


def async_training(snapshot: Snapshot) -> TrainingSet:
    """The asynchronous rows as load cases (`advisor.load_fit.LoadCase`): each with its limits,
    and the percentile and arrivals it was measured at."""
    cells, y, use_cases, configs, clean, sources = [], [], [], [], [], []
    for row in snapshot.async_:
        cells.append(
            Cell(
                model=snapshot.model(row.model),
                format=row.format,
                gpu=snapshot.gpu(row.gpu),
                gpu_count=row.gpu_count,
                prefill_tokens=row.prefill_tokens,
                decode_tokens=row.decode_tokens,
                engine=engine_name(row.engine, row.engine_version) or None,
            )
        )
        y.append(row.max_qps)
        use_cases.append(row.use_case or f"{row.prefill_tokens}/{row.decode_tokens}")
        configs.append(f"{row.source}/{row.model}/{row.format}/{row.gpu}/{row.gpu_count}")
        # Long-decode cells ended early (data/README.md): predicted, not fitted on or scored.
        clean.append(row.source not in AMBIGUOUS_SOURCES and row.decode_flag is None)
        sources.append(row.source)
    X = np.empty(len(cells), dtype=object)
    X[:] = [
        LoadCase(
            cell,
            ttft_s=limit_s(row.ttft_limit_ms),
            itl_s=limit_s(row.itl_limit_ms),
            percentile=PUBLISHED_PERCENTILE,
            arrivals=PUBLISHED_ARRIVALS,
        )
        for cell, row in zip(cells, snapshot.async_, strict=True)
    ]
    return TrainingSet(
        X,
        np.array(y, dtype=float),
        cells,
        use_cases,
        configs,
        np.array(clean, dtype=bool),
        sources,
    )


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
    return isinstance(x, Terms | LoadCase)


def log_error_quantiles(predicted: Array, measured: Array, mask: Array) -> tuple[float, float]:
    """10th and 90th percentiles of log(measured / predicted): the 80% interval's factors."""
    ok = mask & np.isfinite(predicted) & (predicted > 0) & (measured > 0)
    if ok.sum() < 5:
        return (-0.5, 0.5)
    errors = np.log(measured[ok] / predicted[ok])
    return float(np.percentile(errors, 10)), float(np.percentile(errors, 90))
