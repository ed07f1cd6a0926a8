"""The performance models as scikit-learn estimators, for fitting and cross-validation.

Serving needs only their coefficients (see `advisor.latency` and `advisor.load_fit`), so
importing scikit-learn is paid when fitting, not on every command. Both take physics rather than
free features, so scikit-learn's checks that feed random matrices cannot fit them:
`tests/advisor/test_estimators.py` runs every check and lists each such one with its reason.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from advisor.latency import Components, components, fit_parameters
from advisor.load import Array
from advisor.load_fit import PointObservation, evaluate_cases, fit_load


def checked_target(y: Array) -> Array:
    """Measured values: a non-empty 1-D array, positive and finite (s, or requests/s)."""
    values = np.asarray(y, dtype=float)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(
            f"y must be a non-empty 1-D array of measurements, got shape {values.shape}"
        )
    if not np.isfinite(values).all() or (values <= 0).any():
        raise ValueError("y must be positive and finite: latencies in s, rates in requests/s")
    return values


class SyncLatencyModel(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """End-to-end latency of one request served alone, per token (see `advisor.latency`).

    X is a 1-D object array of `advisor.latency.Terms`, one per measured shape: the model is
    structured by format, GPU and engine, which a plain numeric matrix cannot carry.
    `shrinkage` is the ridge penalty that pulls each pooled level toward its parent;
    `calibration_shrinkage` does so for one configuration's own correction (small: a team's
    own measurement should count nearly in full).
    """

    def __init__(self, shrinkage: float = 3.0, calibration_shrinkage: float = 0.02) -> None:
        self.shrinkage = shrinkage
        self.calibration_shrinkage = calibration_shrinkage

    def fit(self, X: Array, y: Array, sample_weight: Array | None = None) -> SyncLatencyModel:
        y = checked_target(y)
        keep = np.ones(len(y), bool) if sample_weight is None else np.asarray(sample_weight) > 0
        self.params_ = fit_parameters(
            list(X[keep]), y[keep], self.shrinkage, self.calibration_shrinkage
        )
        return self

    def components(self, X: Array) -> Components:
        check_is_fitted(self, "params_")
        return components(self.params_, list(X))

    def predict(self, X: Array) -> Array:
        return self.components(X).latency_s


class AsyncLoadModel(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Highest QPS per deployment within limits, from the load model (`advisor.load`).

    X is a 1-D object array of `advisor.load_fit.LoadCase` (a cell, its limits, percentile and
    arrivals). The step costs come from the synchronous model's `sync_params`; the fit learns
    the batched efficiencies and each measured configuration's own factor (`advisor.load_fit`).
    """

    def __init__(
        self,
        sync_params: dict[str, float] | None = None,
        engine: str = "",
        points: tuple[PointObservation, ...] = (),
    ) -> None:
        self.sync_params = sync_params
        self.engine = engine
        self.points = points

    def fit(self, X: Array, y: Array, sample_weight: Array | None = None) -> AsyncLoadModel:
        y = checked_target(y)
        keep = np.ones(len(y), bool) if sample_weight is None else np.asarray(sample_weight) > 0
        self.params_ = fit_load(
            list(X[keep]), y[keep], self.sync_params or {}, self.engine, self.points
        )
        return self

    def predict(self, X: Array) -> Array:
        check_is_fitted(self, "params_")
        _, _, found = evaluate_cases(list(X), self.sync_params or {}, self.params_, self.engine)
        return np.asarray(found.qps, dtype=float)
