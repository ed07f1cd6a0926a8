"""Asynchronous throughput: physics for the shape, fitted coefficients for the constants.

Synchronous latency has its own per-token model (`advisor.latency`).

Asynchronous (continuous batching) is a steady-state roofline of a replica at request rate lam:
decode steps at batch B cost max(m + B kv, B flops) (KV reads and compute grow with the
batch), prefill takes a share rho = lam c of the GPU time, B follows from Little's law and must
fit the KV cache left after the weights in tp x memory x 0.9. The highest lam that keeps TTFT
and ITL within the limits (or, without limits, stays stable) is found by bisection, for every
tensor-parallel size that divides the GPU budget; the best arrangement wins. A multiplicative
efficiency fitted on the measurements (Ridge on log ratios) scales it down, never up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from advisor.architecture import Architecture
from advisor.hardware import (
    INTER_NODE_GBPS,
    MEMORY_UTILISATION,
    Gpu,
    flops_per_token,
    kv_bytes_per_token,
    streamed_bytes_per_token,
    weight_bytes,
)
from advisor.vocabulary import FORMAT_COMPUTE, Format

FORMATS = list(Format)
Array = NDArray[Any]  # float or bool arrays; numpy typing is too strict to help here

# Columns of the quantity matrix every estimator here takes as X.
COLUMNS = (
    "m_s",  # weights streamed once per GPU at datasheet bandwidth, s
    "c_s",  # prefill FLOPs per GPU at datasheet peak, s
    "comm_prefill_s",  # prefill all-reduce volume over the link bandwidth, s
    "n_intra",  # all-reduces per forward pass inside a node
    "n_inter",  # all-reduces per forward pass across nodes
    "prefill",  # prompt tokens
    "decode",  # output tokens
    "fmt",  # index into FORMATS
    "kv_s",  # KV cache of one average-length sequence read per step, s
    "f_s",  # decode FLOPs of one token per GPU at datasheet peak, s
    "kv_capacity",  # sequences of prefill+decode tokens the KV cache holds
    "replicas",  # replicas of this tensor-parallel group in the GPU budget
    "layers",  # transformer blocks: kernels launched per forward pass grow with them
    "mem_bw_gbps",  # datasheet memory bandwidth (GDDR and HBM parts differ in efficiency)
)
COL = {name: i for i, name in enumerate(COLUMNS)}


@dataclass(frozen=True)
class Config:
    """One replica arrangement: a model in a format on `tp` GPUs, `replicas` times."""

    arch: Architecture
    fmt: Format
    gpu: Gpu
    tp: int
    replicas: int
    prefill: int
    decode: int


def quantities(config: Config) -> list[float]:
    """The physical quantities of one configuration, in COLUMNS order."""
    arch, gpu, tp = config.arch, config.gpu, config.tp
    peak = gpu.peak_tflops(FORMAT_COMPUTE[config.fmt])
    if peak is None:
        raise ValueError(f"{gpu.gpu} has no {FORMAT_COMPUTE[config.fmt]} tensor cores")
    bandwidth = gpu.mem_bw_gbps * 1e9
    m = streamed_bytes_per_token(arch, config.fmt) / tp / bandwidth
    p = config.prefill
    c = p * flops_per_token(arch, p / 2) / tp / (peak * 1e12)
    link = gpu.interconnect_gbps if tp <= gpu.nodes_of else INTER_NODE_GBPS
    volume = 2 * arch.layers * 2 * (tp - 1) / tp * p * arch.hidden_size * 2
    comm = volume / (link * 1e9) if tp > 1 else 0.0
    n_intra = 2.0 * arch.layers if tp > 1 else 0.0
    n_inter = 2.0 * arch.layers if tp > gpu.nodes_of else 0.0
    context = p + config.decode / 2
    kv = kv_bytes_per_token(arch) * context / tp / bandwidth
    f = flops_per_token(arch, context) / tp / (peak * 1e12)
    free = tp * gpu.memory_gib * MEMORY_UTILISATION * 2**30 - weight_bytes(arch, config.fmt)
    capacity = free / (kv_bytes_per_token(arch) * (p + config.decode))
    return [
        m,
        c,
        comm,
        n_intra,
        n_inter,
        p,
        config.decode,
        FORMATS.index(config.fmt),
        kv,
        f,
        capacity,
        config.replicas,
        arch.layers,
        gpu.mem_bw_gbps,
    ]


def quantity_matrix(configs: list[Config]) -> Array:
    return np.array([quantities(c) for c in configs], dtype=float).reshape(-1, len(COLUMNS))


def _onehot(X: Array) -> Array:
    out = np.zeros((len(X), len(FORMATS)))
    out[np.arange(len(X)), X[:, COL["fmt"]].astype(int)] = 1.0
    return out


def _steady_state(lam: Array, X: Array) -> tuple[Array, Array, Array, Array]:
    """(stable, batch, ITL, TTFT) of a replica at request rate `lam`, at the roofline.

    A decode step at batch B takes max(m + kv B, f B): weights plus KV reads, or compute,
    whichever binds. Prefill takes a share rho = lam c of the GPU time; Little's law gives
    B = lam D step(B) / (1 - rho), whose solution is the larger of the two lines' fixed points.
    """
    m, kv, f = X[:, COL["m_s"]], X[:, COL["kv_s"]], X[:, COL["f_s"]]
    prefill = X[:, COL["c_s"]] + X[:, COL["comm_prefill_s"]]
    decode = X[:, COL["decode"]]
    rho = lam * prefill
    free = 1 - rho
    den_mem = free - lam * decode * kv
    den_cmp = free - lam * decode * f
    stable = (free > 0) & (den_mem > 0) & (den_cmp > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        batch = np.where(den_mem > 0, lam * decode * m / den_mem, np.inf)
        step = np.maximum(m + kv * batch, f * batch)
        itl = step / free
        ttft = prefill + step + rho * prefill / (2 * free)
    return stable, batch, itl, ttft


def max_rate(X: Array, ttft_limit_s: Array, itl_limit_s: Array) -> Array:
    """Highest request rate per replica, at the roofline, that keeps TTFT and ITL within the
    limits (inf: no limit) and the sequences in flight within the KV cache; by bisection."""
    capacity = X[:, COL["kv_capacity"]]
    prefill = X[:, COL["c_s"]] + X[:, COL["comm_prefill_s"]]

    def ok(lam: Array) -> Array:
        stable, batch, itl, ttft = _steady_state(lam, X)
        in_flight = batch + lam * ttft
        within = (itl <= itl_limit_s) & (ttft <= ttft_limit_s) & (in_flight <= capacity)
        return np.asarray(stable & within, dtype=bool)

    lo, hi = np.zeros(len(X)), 1 / np.maximum(prefill, 1e-9)
    for _ in range(36):  # 2^-36 of the prefill-saturation rate: far below any noise
        mid = (lo + hi) / 2
        good = ok(mid)
        lo, hi = np.where(good, mid, lo), np.where(good, hi, mid)
    return np.where(ok(np.full(len(X), 1e-9)) & (capacity >= 1), lo, 0.0)


def calibration_design(X: Array) -> Array:
    """Features of the asynchronous efficiency: format, whether latency limits apply (and the
    two together: a format's kernels help differently when latency or throughput binds, the
    study's main finding), token counts, memory bandwidth, and how the budget is split
    (replicas, tensor parallelism inside a node, across nodes)."""
    limited = np.isfinite(X[:, -1]).astype(float)
    return np.column_stack(
        [
            _onehot(X),
            _onehot(X) * limited[:, None],
            limited,
            np.log(X[:, COL["prefill"]]),
            np.log(X[:, COL["decode"]]),
            np.log(X[:, COL["mem_bw_gbps"]]),
            np.log(X[:, COL["replicas"]]),
            (X[:, COL["n_intra"]] > 0).astype(float),
            (X[:, COL["n_inter"]] > 0).astype(float),
        ]
    )


def async_bound(X: Array) -> Array:
    """The roofline QPS of a GPU budget: every overhead at zero."""
    per_replica = max_rate(X[:, : len(COLUMNS)], X[:, -2], X[:, -1])
    return np.asarray(per_replica * X[:, COL["replicas"]], dtype=float)


def async_qps(X: Array, coef: Array, intercept: float, bound: Array | None = None) -> Array:
    """Calibrated QPS: the roofline (`bound`, computed when not given) scaled by the fitted
    efficiency, never above it."""
    factor = np.exp(calibration_design(X) @ coef + intercept)
    roofline = async_bound(X) if bound is None else bound
    return np.asarray(roofline * np.minimum(factor, 1.0), dtype=float)


def arrangements(budget: int, nodes_of: int) -> list[tuple[int, int]]:
    """(tensor-parallel size, replicas) that use exactly `budget` GPUs; TP spans nodes only
    when one node is not enough."""
    out = []
    for tp in (1, 2, 4, 8, 16, 32):
        if tp <= budget and budget % tp == 0 and (tp <= nodes_of or tp == budget):
            out.append((tp, budget // tp))
    return out


def async_matrix(
    configs: list[Config], ttft_limit_s: list[float], itl_limit_s: list[float]
) -> Array:
    """Quantities plus the two limit columns (inf: no limit), as AsyncThroughputModel takes."""
    q = quantity_matrix(configs)
    return np.column_stack([q, np.asarray(ttft_limit_s, float), np.asarray(itl_limit_s, float)])
