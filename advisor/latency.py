"""Synchronous latency, per token: physics for the shape, a few named efficiencies fitted.

One request alone on a tensor-parallel group of `tp` GPUs, prompt P, answer D tokens:

    latency = TTFT + (D - 1) ITL(P + D/2) + request
    ITL(c)  = w k_w + kv(c) (1/BW + alpha) + layers tau + all-reduces a_link
    TTFT    = prefill (1 + b_c) + w k_w + layers tau + all-reduces a_link

w is the time to stream one copy of the weights at the format's bytes over the datasheet memory
bandwidth BW (for a mixture of experts: the active set a decode step at batch 1 reads, and in
TTFT the experts the prompt's tokens touch, `advisor.sizes.streamed_bytes`), kv(c) the KV cache
of c tokens, prefill the prompt's FLOPs at the datasheet peak
of the format's tensor cores. The fitted parameters, each a named family:

- `weights` (k_w - 1 >= 0): how far weight streaming falls short of the bandwidth bound, by
  format and GPU (INT4 kernels on Hopper run far from it);
- `step` (tau, s per layer per step): the fixed cost of a step that does not shrink with the
  model (kernel launches, norms, sampling): the floor that dominates small models;
- `attention` (alpha, s per byte): attention at batch one reads the KV cache far below the
  bandwidth bound, so a long context costs more than its bytes;
- `allreduce` (a, s per all-reduce, by link: NVLink, PCIe, across nodes);
- `prefill` (b_c >= 0): how far prefill falls short of the datasheet peak;
- `request` (s per request): the small cost outside TTFT and the decode steps.

Partial pooling: a parameter is the sum of terms at nested levels, e.g. weights[int4] +
weights[int4, hopper] + weights[int4, h100] + weights[int4, h100, vllm 0.7.2], each deeper term
shrunk toward zero by a ridge penalty. A context with many measurements follows them; one with
none takes its parent's value. Sums are clipped at zero, so no efficiency exceeds 1 and no
prediction beats the roofline.

Calibration: each measured configuration (model, format, GPU, count, on any engine) gets its own
corrections of the per-token time, ITL x (1 + u), and of the prompt time, TTFT x (1 + v),
shrunk toward zero by `calibration_shrinkage` (small: a team's own cell counts nearly in full;
v harder). One measured cell so
corrects every other prompt and output shape of that configuration through its decode steps,
not through one factor on the whole latency, and leaves other configurations alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from advisor.hardware import Gpu, ModelSpec
from advisor.ridge import bounded_ridge
from advisor.sizes import (
    expert_share,
    flops_per_token,
    kv_bytes,
    kv_split,
    routed_expert_bytes,
    streamed_bytes,
    streamed_bytes_per_token,
)
from advisor.vocabulary import FORMAT_COMPUTE, Format

Array = NDArray[np.float64]

# Links at or above this GPU-to-GPU bandwidth are NVLink-class; below, PCIe-class.
NVLINK_GBPS = 300.0
# Memory at or above this bandwidth is HBM; below, GDDR (the two differ in efficiency).
HBM_GBPS = 1000.0
# Scales that keep the fitted numbers readable: tau in ms, a in us, alpha in s per GB.
FAMILY_UNITS = {"step": 1e-3, "allreduce": 1e-6, "attention": 1e-9}
# Ridge toward zero on the top-level terms, i.e. toward the roofline. The per-request term must
# be small unless the data insist, and attention beyond its bytes is a correction, not a
# given. (Chosen among a few values on the grouped cross-validation: slightly optimistic.)
TOP_LEVEL_PRIOR = {"request": 3.0, "attention": 0.3}
# A whisper of ridge on the other top-level terms keeps unidentified ones at zero.
UNIDENTIFIED_PRIOR = 1e-4
FAMILIES = ("weights", "step", "attention", "allreduce", "prefill", "request")


# The prompt's share of a synchronous latency is small: its corrections (by GPU, and by
# configuration) need more evidence.
PROMPT_SHRINKAGE_FACTOR = 10.0
# A generation level pools GPUs, so it moves only on evidence from several: a stiffer prior.
GENERATION_SHRINKAGE_FACTOR = 5.0


def generation(gpu: Gpu) -> str:
    """The pooling level above one GPU: its architecture and memory kind."""
    memory = "hbm" if gpu.mem_bw_gbps >= HBM_GBPS else "gddr"
    return f"gen:{gpu.architecture}-{memory}"


def link(gpu: Gpu, tp: int) -> str:
    if tp > gpu.nodes_of:
        return "inter-node"
    return "nvlink" if gpu.interconnect_gbps >= NVLINK_GBPS else "pcie"


@dataclass(frozen=True)
class Shape:
    """One configuration and workload, as the latency model sees it."""

    model: ModelSpec
    format: Format
    gpu: Gpu
    tp: int
    prefill_tokens: int
    decode_tokens: int
    engine: str  # "vllm 0.7.2"; "" when unknown

    @property
    def configuration(self) -> str:
        """What a team's own measurement calibrates: the same model, format, GPU and count, on
        any engine (the engine's own terms are pooled above)."""
        return f"{self.model.model}|{self.format.value}|{self.gpu.gpu}|{self.tp}"


@dataclass(frozen=True)
class Terms:
    """Physics of one shape: the bound, and per family the quantity its parameter multiplies
    (over the whole request) and the pooling keys the parameter is summed over."""

    bound_s: float
    ttft_bound_s: float
    itl_bound_s: float
    steps: int
    quantity: Mapping[str, float]
    quantity_ttft: Mapping[str, float]
    keys: Mapping[str, tuple[str, ...]]
    configuration: str
    kv_step_s: float = 0.0  # the KV cache of the mean context read once, at the bandwidth
    attention_step: float = 0.0  # the attention family's quantity in one decode step
    weights_step_s: float = 0.0  # one decode step's weight reads at batch 1, at the bandwidth
    experts_s: float = 0.0  # every routed expert read once, at the bandwidth (0: dense)
    expert_share: float = 0.0  # routed experts one token uses, k / E (0: dense)


@lru_cache(maxsize=4096)
def terms(shape: Shape) -> Terms:
    """Roofline quantities and pooling keys of one shape (a pure function of it: memoised,
    since the synchronous and load models ask for the same shapes)."""
    arch, gpu, tp, fmt = shape.model.arch, shape.gpu, shape.tp, shape.format
    peak = gpu.peak_for(fmt)
    if peak is None:
        raise ValueError(f"{gpu.gpu} has no {FORMAT_COMPUTE[fmt]} tensor cores")
    bandwidth = gpu.mem_bw_gbps * 1e9
    p, d = shape.prefill_tokens, shape.decode_tokens
    weights = streamed_bytes_per_token(arch, fmt) / tp / bandwidth
    # The prompt's pass reads the experts its p tokens touch (a dense model: the same weights).
    weights_prompt = streamed_bytes(arch, fmt, p) / tp / bandwidth
    kv = kv_bytes(arch, p + d / 2) / kv_split(arch, tp)
    prefill = p * flops_per_token(arch, p / 2) / tp / (peak * 1e12)
    all_reduces = 2.0 * arch.layers if tp > 1 else 0.0
    steps = d - 1
    passes = steps + 1  # the prefill pass reads the weights and pays the step costs too
    f, g, e = fmt.value, gpu.gpu, shape.engine
    gen = generation(gpu)
    keys = {
        "weights": (f, f"{f}|{gen}", f"{f}|{g}", f"{f}|{g}|{e}"),
        "step": ("all", gen, g, f"{g}|{e}", f"engine|{e}"),
        "attention": (f, f"{f}|{e}"),
        "allreduce": (link(gpu, tp),),
        "prefill": (f, f"{f}|{g}"),
        "request": ("all", f"engine|{e}"),
    }
    quantity = {
        "weights": weights * passes + (weights_prompt - weights),
        "step": arch.layers * passes * FAMILY_UNITS["step"],
        "attention": kv * steps * FAMILY_UNITS["attention"],
        "allreduce": all_reduces * passes * FAMILY_UNITS["allreduce"],
        "prefill": prefill,
        "request": 1.0,
    }
    quantity_ttft = {
        "weights": weights_prompt,
        "step": arch.layers * FAMILY_UNITS["step"],
        "attention": 0.0,
        "allreduce": all_reduces * FAMILY_UNITS["allreduce"],
        "prefill": prefill,
        "request": 0.0,
    }
    itl_bound = weights + kv / bandwidth
    ttft_bound = prefill + weights_prompt
    return Terms(
        bound_s=ttft_bound + steps * itl_bound,
        ttft_bound_s=ttft_bound,
        itl_bound_s=itl_bound,
        steps=steps,
        quantity=quantity,
        quantity_ttft=quantity_ttft,
        keys=keys,
        configuration=shape.configuration,
        kv_step_s=kv / bandwidth,
        attention_step=kv * FAMILY_UNITS["attention"],
        weights_step_s=weights,
        experts_s=routed_expert_bytes(arch, fmt) / tp / bandwidth,
        expert_share=expert_share(arch),
    )


def _column(family: str, key: str) -> str:
    return f"{family}[{key}]"


def _calibration(configuration: str, part: str = "decode") -> str:
    return f"calibration[{part}|{configuration}]"


def is_calibrated(params: Mapping[str, float], t: Terms) -> bool:
    """Whether the shape's configuration has measurements of its own (a correction)."""
    return _calibration(t.configuration) in params


class FamilyValues:
    """Every family's parameter of a shape (the sum over its pooling levels, at least 0),
    memoised per set of pooling keys for one call over many shapes: the shapes of one
    configuration share them."""

    def __init__(self, params: Mapping[str, float]) -> None:
        self.params = params
        self.memo: dict[tuple[tuple[str, ...], ...], dict[str, float]] = {}

    def __call__(self, t: Terms) -> dict[str, float]:
        key = tuple(t.keys[f] for f in FAMILIES)
        found = self.memo.get(key)
        if found is None:
            found = {f: parameter_value(self.params, f, t.keys[f]) for f in FAMILIES}
            self.memo[key] = found
        return found


def parameter_value(params: Mapping[str, float], family: str, keys: Sequence[str]) -> float:
    """A parameter of one shape: the sum over its pooling levels, never below zero."""
    return max(sum(params.get(_column(family, k), 0.0) for k in keys), 0.0)


def _parts(
    params: Mapping[str, float], t: Terms, values: FamilyValues | None = None
) -> tuple[float, float, float]:
    """(TTFT, decode steps, request) in seconds, before any calibration."""
    value = (values or FamilyValues(params))(t)
    total = t.bound_s + sum(value[f] * t.quantity[f] for f in FAMILIES)
    first = t.ttft_bound_s + sum(value[f] * t.quantity_ttft[f] for f in FAMILIES)
    return first, total - first - value["request"], value["request"]


@dataclass(frozen=True)
class StepParts:
    """One configuration's step costs as the load model takes them (s)."""

    fixed_s: float  # one forward pass at batch 1: weights, launches, all-reduces
    weights_s: float  # its bound: the weights streamed once at the bandwidth
    kv_step_s: float  # the KV cache of the mean context, read once
    prompt_s: float  # the whole prompt's prefill
    request_s: float  # per request, outside the steps
    experts_s: float = 0.0  # every routed expert read once, as efficiently as the weights
    experts_bound_s: float = 0.0  # its bound: at the bandwidth


def step_parts(
    params: Mapping[str, float], t: Terms, values: FamilyValues | None = None
) -> StepParts:
    """The fitted per-pass costs of one shape, with its configuration's own calibration."""
    value = (values or FamilyValues(params))(t)
    weights = t.weights_step_s
    # A decode step at batch 1 reads the active weights; the prompt's pass its tokens' union.
    per_step = {**t.quantity_ttft, "weights": weights}
    fixed = weights + sum(value[f] * per_step[f] for f in ("weights", "step", "allreduce"))
    compute = t.ttft_bound_s - t.quantity_ttft["weights"]
    prompt = compute + value["prefill"] * t.quantity_ttft["prefill"]
    decode = 1.0 + params.get(_calibration(t.configuration), 0.0)
    prompt_factor = 1.0 + params.get(_calibration(t.configuration, "prompt"), 0.0)
    kv = t.kv_step_s + value["attention"] * t.attention_step
    return StepParts(
        fixed_s=max(fixed * decode, weights),
        weights_s=weights,
        kv_step_s=max(kv * decode, t.kv_step_s),
        prompt_s=max(prompt * prompt_factor, compute),
        request_s=value["request"],
        experts_s=max(t.experts_s * (1 + value["weights"]) * decode, t.experts_s),
        experts_bound_s=t.experts_s,
    )


@dataclass(frozen=True)
class Components:
    ttft_s: Array
    itl_s: Array
    request_s: Array
    latency_s: Array
    bound_s: Array


def components(params: Mapping[str, float], shapes_terms: Sequence[Terms]) -> Components:
    """TTFT, mean ITL, per-request cost and latency of each shape."""
    n = len(shapes_terms)
    ttft, itl, request, latency, bound = (np.zeros(n) for _ in range(5))
    values = FamilyValues(params)
    for i, t in enumerate(shapes_terms):
        first, decode, request[i] = _parts(params, t, values)
        # The configuration's own corrections scale its per-token and prompt time, never below
        # their bounds.
        decode *= 1.0 + params.get(_calibration(t.configuration), 0.0)
        decode = max(decode, t.steps * t.itl_bound_s)
        first *= 1.0 + params.get(_calibration(t.configuration, "prompt"), 0.0)
        first = max(first, t.ttft_bound_s)
        ttft[i] = first
        itl[i] = decode / t.steps if t.steps > 0 else t.itl_bound_s
        latency[i] = first + decode + request[i]
        bound[i] = t.bound_s
    return Components(ttft, itl, request, latency, bound)


def fit_parameters(
    shapes_terms: Sequence[Terms],
    latency_s: Array,
    shrinkage: float,
    calibration_shrinkage: float,
) -> dict[str, float]:
    """Bounded, ridge-penalised least squares on relative error.

    Top-level terms are non-negative and shrunk only by their priors; deeper terms are free in
    sign and shrunk toward zero by `shrinkage` (harder for GPU generations and prefill). Then
    each configuration's corrections of its per-token and prompt time (`_calibrations`).
    """
    columns: dict[str, int] = {}
    penalties: list[float] = []
    top_level: list[bool] = []
    for t in shapes_terms:
        for family in FAMILIES:
            for depth, key in enumerate(t.keys[family]):
                name = _column(family, key)
                if name in columns:
                    continue
                columns[name] = len(columns)
                top_level.append(depth == 0)
                if depth == 0:
                    penalties.append(TOP_LEVEL_PRIOR.get(family, UNIDENTIFIED_PRIOR))
                elif family == "prefill":
                    penalties.append(shrinkage * PROMPT_SHRINKAGE_FACTOR)
                elif key.startswith("gen:") or "|gen:" in key:
                    penalties.append(shrinkage * GENERATION_SHRINKAGE_FACTOR)
                else:
                    penalties.append(shrinkage)
    y = np.asarray(latency_s, dtype=float)
    X = np.zeros((len(y), len(columns)))
    bound = np.array([t.bound_s for t in shapes_terms])
    for i, t in enumerate(shapes_terms):
        for family in FAMILIES:
            for key in t.keys[family]:
                X[i, columns[_column(family, key)]] += t.quantity[family]
    weight = 1.0 / y
    # Top-level terms are bounded at zero (no efficiency above the datasheet); deeper ones are
    # deviations of either sign.
    values = bounded_ridge(
        X * weight[:, None], (y - bound) * weight, np.asarray(penalties), np.asarray(top_level)
    )
    params = {name: float(values[j]) for name, j in columns.items()}
    params.update(_calibrations(params, shapes_terms, y, calibration_shrinkage))
    return params


def _calibrations(
    params: Mapping[str, float], shapes_terms: Sequence[Terms], y: Array, shrinkage: float
) -> dict[str, float]:
    """Each configuration's corrections of its per-token time (u) and its prompt time (v).

    Ridge on the relative residuals r = x u + z v, with x and z the decode steps' and the
    prompt's shares of the measured latency; v is shrunk harder (the prompt is a small share
    and one cell cannot tell it from the decode steps).
    """
    rows: dict[str, list[tuple[float, float, float]]] = {}
    values = FamilyValues(params)
    for t, measured in zip(shapes_terms, y, strict=True):
        first, decode, request = _parts(params, t, values)
        r = (measured - first - decode - request) / measured
        rows.setdefault(t.configuration, []).append((decode / measured, first / measured, r))
    out: dict[str, float] = {}
    penalty = np.diag([shrinkage, shrinkage * PROMPT_SHRINKAGE_FACTOR])
    for configuration, found in rows.items():
        X = np.array([(x, z) for x, z, _ in found])
        r = np.array([v[2] for v in found])
        u, v = np.linalg.solve(X.T @ X + penalty, X.T @ r)
        out[_calibration(configuration)] = float(u)
        out[_calibration(configuration, "prompt")] = float(v)
    return out
