"""Bounded ridge least squares: the solver both performance models fit their named parameters
with (`advisor.latency` on synchronous latencies, `advisor.load_fit` on saturation rates)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def bounded_ridge(A: Array, target: Array, penalties: Array, non_negative: Array) -> Array:
    """argmin |A x - target|^2 + sum penalties x^2, with x >= 0 where `non_negative`.

    Columns are scaled to unit maximum first (the penalties apply on that scale), and the
    solution is returned on the original one. bvls under one BLAS thread: a few hundred rows
    solve many times faster alone than with two contending threads.
    """
    from scipy.optimize import lsq_linear
    from threadpoolctl import threadpool_limits

    scale = np.abs(A).max(axis=0)
    scale[scale == 0] = 1.0
    pen = np.asarray(penalties, dtype=float)
    stacked = np.vstack([A / scale, np.diag(np.sqrt(pen))])
    padded = np.concatenate([target, np.zeros(len(pen))])
    lower = np.where(non_negative, 0.0, -np.inf)
    with threadpool_limits(limits=1):
        result = lsq_linear(
            stacked, padded, bounds=(lower, np.full(len(pen), np.inf)), method="bvls"
        )
    return np.asarray(result.x / scale, dtype=float)
