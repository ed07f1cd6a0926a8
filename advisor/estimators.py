"""The performance models as scikit-learn estimators, for fitting and cross-validation.

Serving needs only their coefficients (see `advisor.performance`), so importing scikit-learn is
paid when fitting, not on every command.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils.validation import check_is_fitted

from advisor.performance import (
    COL,
    Array,
    async_bound,
    async_qps,
    calibration_design,
    sync_bounds,
    sync_components,
    sync_design,
    sync_latency,
)


class SyncLatencyModel(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """End-to-end latency of one request served alone: the roofline bound plus non-negative
    fitted overheads, so never faster than physics (see `advisor.performance`)."""

    def fit(self, X: Array, y: Array) -> SyncLatencyModel:
        # Non-negative least squares on the excess over the roofline, rows weighted by
        # 1/latency so that the fit minimises relative rather than absolute error.
        y = np.asarray(y, dtype=float)
        ttft, itl = sync_bounds(X)
        bound = ttft + (X[:, COL["decode"]] - 1) * itl
        weight = 1 / y
        design = sync_design(X) * weight[:, None]
        # Columns span seconds to thousands of all-reduces: scale them so NNLS is well posed.
        scale = np.abs(design).max(axis=0)
        scale[scale == 0] = 1.0
        regression = LinearRegression(positive=True, fit_intercept=False)
        regression.fit(design / scale, (y - bound) * weight)
        self.coef_ = np.asarray(regression.coef_ / scale, dtype=float)
        return self

    def components(self, X: Array) -> tuple[Array, Array, Array]:
        check_is_fitted(self, "coef_")
        return sync_components(X, self.coef_)

    def predict(self, X: Array) -> Array:
        check_is_fitted(self, "coef_")
        return sync_latency(X, self.coef_)


class AsyncThroughputModel(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Highest QPS of a whole GPU budget (replicas x tensor-parallel group) within limits.

    X is the quantity matrix plus two columns, the TTFT and ITL limits in seconds (inf: none).
    The roofline simulation is corrected by exp(Ridge(log measured / simulated)) on format,
    limits, log token counts and log bandwidth, and never exceeds the simulation itself.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X: Array, y: Array) -> AsyncThroughputModel:
        y = np.asarray(y, dtype=float)
        bound = async_bound(X)
        ok = (bound > 0) & (y > 0)
        ridge = Ridge(alpha=self.alpha)
        ridge.fit(calibration_design(X[ok]), np.log(y[ok] / bound[ok]))
        self.coef_ = np.asarray(ridge.coef_, dtype=float)
        self.intercept_ = float(ridge.intercept_)
        return self

    def predict(self, X: Array) -> Array:
        check_is_fitted(self, "coef_")
        return async_qps(X, self.coef_, self.intercept_)
