"""The performance models as scikit-learn estimators, for fitting and cross-validation.

Serving needs only their coefficients (see `advisor.performance` and `advisor.latency`), so
importing scikit-learn is paid when fitting, not on every command. Both take physics rather than
free features, so scikit-learn's checks that feed random matrices cannot fit them:
`tests/advisor/test_estimators.py` runs every check and lists each such one with its reason.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from advisor.latency import Components, components, fit_parameters
from advisor.performance import Array, async_bound, async_qps, calibration_design


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


class AsyncThroughputModel(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Highest QPS of a whole GPU budget (replicas x tensor-parallel group) within limits.

    X is the quantity matrix plus two columns, the TTFT and ITL limits in seconds (inf: none).
    The roofline simulation is corrected by exp(Ridge(log measured / simulated)) on format,
    limits, log token counts and log bandwidth, and never exceeds the simulation itself.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X: Array, y: Array, sample_weight: Array | None = None) -> AsyncThroughputModel:
        y = checked_target(y)
        bound = async_bound(X)
        ok = (bound > 0) & (y > 0)
        if sample_weight is not None:
            ok &= np.asarray(sample_weight) > 0
        ridge = Ridge(alpha=self.alpha)
        ridge.fit(calibration_design(X[ok]), np.log(y[ok] / bound[ok]))
        self.coef_ = np.asarray(ridge.coef_, dtype=float)
        self.intercept_ = float(ridge.intercept_)
        return self

    def predict(self, X: Array) -> Array:
        check_is_fitted(self, "coef_")
        return async_qps(X, self.coef_, self.intercept_)
