"""The load model's inputs built from cells, and what is fitted on the asynchronous measurements.

Two things are learned, both on top of the synchronous per-token model:
- `compute` (e >= 0 at the top): how far batched decode compute falls short of the datasheet
  peak, by format, pooled over GPU generation and GPU like the synchronous families. It is
  linear in the saturation rate's inverse, so the fit is a bounded ridge least squares on the
  unconstrained (throughput) rows;
- per configuration (model, format, GPU, count) that has asynchronous measurements or load
  points of its own, a factor on its step costs, k, shrunk toward 1: one measured cell corrects
  every other shape and limit of that configuration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from advisor.cells import Cell, shape_of
from advisor.hardware import INTER_NODE_GBPS, MEMORY_UTILISATION
from advisor.latency import FamilyValues, generation, step_parts, terms
from advisor.load import (
    Array,
    Limits,
    Replica,
    figures,
    max_rate,
    saturated_fixed_s,
    saturation_rate,
)
from advisor.ridge import bounded_ridge
from advisor.sizes import (
    fits,
    flops_per_token,
    kv_bytes_per_token,
    kv_split,
    touched_experts,
    weight_bytes,
)
from advisor.vocabulary import Arrivals, Binding

# vLLM's scheduler defaults, assumed when a deployment does not say: the V0 engine (before 0.8)
# batches up to 256 sequences and 2048 tokens a step; V1 (0.8 on) keeps 256 sequences and a
# budget of 8192 tokens on GPUs with 70 GiB or more, 2048 below.
V1_FROM = (0, 8)
MAX_NUM_SEQS = 256
TOKEN_BUDGET_V0 = 2048
TOKEN_BUDGET_V1_LARGE = 8192
LARGE_GPU_GIB = 70.0
# Ridge on the efficiency levels below the format (as the synchronous model's shrinkage), and
# the pseudo-count pulling a configuration's own factor toward 1.
COMPUTE_PRIOR = 1e-3
COMPUTE_SHRINKAGE = 1.0
CALIBRATION_PSEUDO_ROWS = 0.5


def arrangements(budget: int, nodes_of: int) -> list[tuple[int, int]]:
    """(tensor-parallel size, replicas) that use exactly `budget` GPUs; tensor parallelism spans
    nodes only when one node is not enough."""
    out = []
    for tp in (1, 2, 4, 8, 16, 32):
        if tp <= budget and budget % tp == 0 and (tp <= nodes_of or tp == budget):
            out.append((tp, budget // tp))
    return out


def _version(engine: str) -> tuple[int, ...]:
    digits = engine.rsplit(" ", 1)[-1].split(".")
    out = []
    for d in digits[:2]:
        number = "".join(ch for ch in d if ch.isdigit())
        out.append(int(number) if number else 0)
    return tuple(out)


def scheduler_limits(engine: str, memory_gib: float) -> tuple[int, int]:
    """(token budget, max_num_seqs) of vLLM's defaults for an engine version on a GPU."""
    if engine and _version(engine) >= V1_FROM and memory_gib >= LARGE_GPU_GIB:
        return TOKEN_BUDGET_V1_LARGE, MAX_NUM_SEQS
    return TOKEN_BUDGET_V0, MAX_NUM_SEQS


def configuration(cell: Cell, tp: int) -> str:
    """What load measurements calibrate: one replica (model, format, GPU, tensor-parallel
    size) on any engine. Replicas are independent, so a deployment of several scales
    linearly and shares its replicas' calibration."""
    return f"{cell.model.model}|{cell.format.value}|{cell.gpu.gpu}|tp{tp}"


def compute_keys(cell: Cell) -> tuple[str, ...]:
    f = cell.format.value
    return (f, f"{f}|{generation(cell.gpu)}", f"{f}|{cell.gpu.gpu}")


# The fitted families: each scales one quantity at the datasheet figure, (1 + e) with e >= 0.
FAMILIES = ("kv", "prefill", "compute")


@dataclass(frozen=True)
class Arranged:
    """Every arrangement (tensor-parallel size x replicas) of the cells' GPU budgets that fits,
    flattened: `owner` maps each row back to its cell. `base` holds, per fitted family, the
    quantity at the datasheet figures: `kv` the KV read of one context token per step (at the
    memory bandwidth), `prefill` one prompt token's FLOPs, `compute` one decoding sequence's
    FLOPs (at the format's peak); `comm_s` each batched token's all-reduces over the link."""

    replica: Replica  # F, the per-request cost and the limits; costs filled in by `costed`
    base: dict[str, Array]
    weights_s: Array  # the weights streamed once at the bandwidth: no step is shorter
    comm_s: Array
    owner: Array
    tp: Array
    replicas: Array
    experts_bound_s: Array  # every routed expert streamed once at the bandwidth (0: dense)


def arranged(cells: Sequence[Cell], sync_params: Mapping[str, float], engine: str) -> Arranged:
    rows: dict[str, list[float]] = {k: [] for k in Replica.__dataclass_fields__}
    base: dict[str, list[float]] = {f: [] for f in FAMILIES}
    comm, owner, tps, reps, weights, experts = [], [], [], [], [], []
    values = FamilyValues(sync_params)
    for index, cell in enumerate(cells):
        context = cell.prefill_tokens + cell.decode_tokens
        arch, gpu = cell.model.arch, cell.gpu
        peak = gpu.peak_for(cell.format)
        if peak is None:
            continue
        budget, seqs = scheduler_limits(cell.engine or engine, gpu.memory_gib)
        mean_context = cell.prefill_tokens + cell.decode_tokens / 2
        # What does not depend on the arrangement, once per cell.
        weight = weight_bytes(arch, cell.format)
        kv_token = kv_bytes_per_token(arch, mean_context if arch.sliding_layers else None)
        prefill_flops = flops_per_token(arch, cell.prefill_tokens / 2)
        decode_flops = flops_per_token(arch, mean_context)
        # The share of the routed experts a prompt's pass reads beyond one token's.
        prompt_share = 0.0
        if arch.experts is not None:
            extra = touched_experts(arch, cell.prefill_tokens) - arch.experts.per_token
            prompt_share = extra / arch.experts.routed
        for tp, replicas in arrangements(cell.gpu_count, gpu.nodes_of):
            if not fits(arch, cell.format, gpu, tp, context):
                continue
            shape = terms(shape_of(cell, tp, cell.engine or engine))
            parts = step_parts(sync_params, shape, values)
            memory = tp * gpu.memory_gib * MEMORY_UTILISATION * 2**30
            free = memory - weight
            # Latent attention keeps the whole cache on every GPU of the group.
            replicated = tp / kv_split(arch, tp)
            rows["fixed_s"].append(parts.fixed_s)
            weights.append(parts.weights_s)
            experts.append(parts.experts_bound_s)
            rows["experts_s"].append(parts.experts_s)
            rows["expert_share"].append(shape.expert_share)
            rows["request_s"].append(parts.request_s)
            # An idle replica's prompt pass reads the experts its prompt touches.
            prompt_experts = parts.experts_s * prompt_share
            rows["ttft_alone_s"].append(parts.fixed_s + parts.prompt_s + prompt_experts)
            rows["itl_alone_s"].append(parts.fixed_s + parts.kv_step_s)
            rows["token_budget"].append(budget)
            rows["max_num_seqs"].append(seqs)
            rows["kv_tokens"].append(free / (kv_token * replicated))
            rows["prompt"].append(cell.prefill_tokens)
            rows["output"].append(cell.decode_tokens)
            for name in ("context_s", "decode_s", "prompt_s"):
                rows[name].append(0.0)
            flops = peak * 1e12 * tp
            base["kv"].append(kv_token / kv_split(arch, tp) / (gpu.mem_bw_gbps * 1e9))
            base["prefill"].append(prefill_flops / flops)
            base["compute"].append(decode_flops / flops)
            link = gpu.interconnect_gbps if tp <= gpu.nodes_of else INTER_NODE_GBPS
            volume = 2 * arch.layers * 2 * (tp - 1) / tp * arch.hidden_size * 2
            comm.append(volume / (link * 1e9))
            owner.append(index)
            tps.append(tp)
            reps.append(replicas)
    return Arranged(
        Replica(**{k: np.asarray(v, dtype=float) for k, v in rows.items()}),
        {f: np.asarray(v, dtype=float) for f, v in base.items()},
        np.asarray(weights, float),
        np.asarray(comm, float),
        np.asarray(owner, int),
        np.asarray(tps, int),
        np.asarray(reps, int),
        np.asarray(experts, float),
    )


def _subset(a: Arranged, mask: Array) -> Arranged:
    return Arranged(
        a.replica.take(mask),
        {f: v[mask] for f, v in a.base.items()},
        a.weights_s[mask],
        a.comm_s[mask],
        a.owner[mask],
        a.tp[mask],
        a.replicas[mask],
        a.experts_bound_s[mask],
    )


def efficiency(params: Mapping[str, float], family: str, keys: Sequence[tuple[str, ...]]) -> Array:
    """1 + e of one family for each key path: the pooled sum, never below zero."""
    memo: dict[tuple[str, ...], float] = {}
    out = np.empty(len(keys))
    for i, path in enumerate(keys):
        value = memo.get(path)
        if value is None:
            value = 1.0 + max(sum(params.get(f"{family}[{k}]", 0.0) for k in path), 0.0)
            memo[path] = value
        out[i] = value
    return out


@dataclass(frozen=True)
class Best:
    """Per cell: the best arrangement's max rate per deployment and its figures."""

    qps: Array  # within the limits, per deployment
    saturation_qps: Array  # unconstrained, per deployment (same arrangement)
    row: Array  # index into the Arranged rows (-1: nothing fits)
    binding: list[Binding | None]


def costed(a: Arranged, cells: Sequence[Cell], load_params: Mapping[str, float]) -> Replica:
    """The arranged replicas with the fitted compute efficiency and each configuration's own
    factor applied."""
    keys = [compute_keys(cells[i]) for i in a.owner]
    e = {f: efficiency(load_params, f, keys) for f in FAMILIES}
    with_compute = Replica(
        **{
            **a.replica.__dict__,
            "context_s": a.base["kv"] * e["kv"],
            "prompt_s": a.base["prefill"] * e["prefill"] + a.comm_s,
            "decode_s": a.base["compute"] * e["compute"] + a.comm_s,
        }
    )
    factors = np.array(
        [
            load_params.get(f"calibration[{configuration(cells[i], int(tp))}]", 1.0)
            for i, tp in zip(a.owner, a.tp, strict=True)
        ]
    )
    return floored(a, with_compute.scaled(factors))


def floored(a: Arranged, r: Replica) -> Replica:
    """No step cost below its datasheet figure, whatever a calibration says."""
    return replace(
        r,
        fixed_s=np.maximum(r.fixed_s, a.weights_s),
        experts_s=np.maximum(r.experts_s, a.experts_bound_s),
        context_s=np.maximum(r.context_s, a.base["kv"]),
        prompt_s=np.maximum(r.prompt_s, a.base["prefill"] + a.comm_s),
        decode_s=np.maximum(r.decode_s, a.base["compute"] + a.comm_s),
    )


def best(a: Arranged, replica: Replica, n_cells: int, limits: Limits) -> Best:
    """The arrangement with the highest max rate per deployment for each cell; where none
    meets the limits, the one an idle request is fastest on (the nearest miss)."""
    per_replica, binding = max_rate(replica, limits)
    per_deployment = per_replica * a.replicas
    saturation = saturation_rate(replica) * a.replicas
    idle = replica.ttft_alone_s + np.maximum(replica.output - 1, 1) * replica.itl_alone_s
    qps, sat = np.zeros(n_cells), np.zeros(n_cells)
    row = np.full(n_cells, -1)
    bind: list[Binding | None] = [None] * n_cells
    for j, owner in enumerate(a.owner):
        current = row[owner]
        better = (
            current < 0
            or per_deployment[j] > qps[owner]
            or (per_deployment[j] == qps[owner] == 0 and idle[j] < idle[current])
        )
        if better:
            qps[owner], sat[owner], row[owner], bind[owner] = (
                per_deployment[j],
                saturation[j],
                j,
                binding[j],
            )
    return Best(qps, sat, row, bind)


def limits_for(
    a: Arranged,
    ttft_s: Sequence[float],
    itl_s: Sequence[float],
    latency_s: Sequence[float],
    percentile: float,
    arrivals: Arrivals,
) -> Limits:
    """Per-cell limits spread over their arrangement rows."""
    idx = a.owner
    return Limits(
        ttft_s=np.asarray(ttft_s, float)[idx],
        itl_s=np.asarray(itl_s, float)[idx],
        latency_s=np.asarray(latency_s, float)[idx],
        percentile=percentile,
        arrivals=arrivals,
    )


def fit_efficiency(
    a: Arranged, cells: Sequence[Cell], rows: Array, measured_qps: Array
) -> dict[str, float]:
    """The families' efficiencies from unconstrained rows (`rows`: their Arranged row index;
    `measured_qps` per deployment). The inverse saturation rate is linear in them,

        1 / rate = (D - 1) F / B + (D - 1) c kv (1 + e_kv) + P prefill (1 + e_prefill)
                   + (D - 1) compute (1 + e_compute) + (D - 1 + P) comm,

    so a bounded ridge least squares on the relative residual fits them."""
    from advisor.load import saturation_batch

    sub = _subset(a, rows)
    r = costed(sub, cells, {})
    steps = np.maximum(r.output - 1, 1)
    inverse = sub.replicas / measured_qps
    batch, _ = saturation_batch(r)
    slopes = {
        "kv": steps * (r.prompt + r.output / 2) * sub.base["kv"],
        "prefill": r.prompt * sub.base["prefill"],
        "compute": steps * sub.base["compute"],
    }
    fixed = saturated_fixed_s(r)
    known = steps * fixed / batch + sum(slopes.values()) + (steps + r.prompt) * sub.comm_s
    columns: dict[str, int] = {}
    penalties: list[float] = []
    top: list[bool] = []
    paths = [compute_keys(cells[i]) for i in sub.owner]
    for family in FAMILIES:
        for path in paths:
            for depth, key in enumerate(path):
                name = f"{family}[{key}]"
                if name not in columns:
                    columns[name] = len(columns)
                    penalties.append(COMPUTE_PRIOR if depth == 0 else COMPUTE_SHRINKAGE)
                    top.append(depth == 0)
    X = np.zeros((len(paths), len(columns)))
    for family in FAMILIES:
        for i, path in enumerate(paths):
            for key in path:
                X[i, columns[f"{family}[{key}]"]] += slopes[family][i]
    values = bounded_ridge(
        X / inverse[:, None], (inverse - known) / inverse, np.asarray(penalties), np.asarray(top)
    )
    return {name: float(values[j]) for name, j in columns.items()}


def calibration_factors(
    predicted_qps: Array,
    measured_qps: Array,
    configurations: Sequence[str],
    more: Sequence[tuple[str, float]] = (),
) -> dict[str, float]:
    """Each configuration's step-cost factor from its rows: rates scale as 1 / k, so
    log k = mean log(predicted / measured), shrunk toward 0 by a pseudo-count. `more` adds
    (configuration, log k) pairs found otherwise (load points)."""
    logs: dict[str, list[float]] = {}
    for p, m, c in zip(predicted_qps, measured_qps, configurations, strict=True):
        if p > 0 and m > 0 and math.isfinite(p):
            logs.setdefault(c, []).append(math.log(p / m))
    for c, value in more:
        logs.setdefault(c, []).append(value)
    return {
        f"calibration[{c}]": math.exp(sum(v) / (len(v) + CALIBRATION_PSEUDO_ROWS))
        for c, v in logs.items()
    }


@dataclass(frozen=True)
class LoadCase:
    """One asynchronous measurement or question: a cell and the limits its max QPS is under."""

    cell: Cell
    ttft_s: float = math.inf
    itl_s: float = math.inf
    latency_s: float = math.inf
    percentile: float = 99.0
    arrivals: Arrivals = Arrivals.POISSON

    @property
    def unconstrained(self) -> bool:
        return math.isinf(self.ttft_s) and math.isinf(self.itl_s) and math.isinf(self.latency_s)


def evaluate_cases(
    cases: Sequence[LoadCase],
    sync_params: Mapping[str, float],
    load_params: Mapping[str, float],
    engine: str,
) -> tuple[Arranged, Replica, Best]:
    """Max QPS per deployment of each case at its limits, percentile and arrivals (cases are
    grouped by the last two: the approximation takes one of each at a time)."""
    cells = [c.cell for c in cases]
    a = arranged(cells, sync_params, engine)
    replica = costed(a, cells, load_params)
    n = len(cases)
    out = Best(np.zeros(n), np.zeros(n), np.full(n, -1), [None] * n)
    groups: dict[tuple[float, Arrivals], list[int]] = {}
    for i, c in enumerate(cases):
        groups.setdefault((c.percentile, c.arrivals), []).append(i)
    for (percentile, arrivals), members in groups.items():
        mine = np.isin(a.owner, members)
        if not mine.any():
            continue
        sub = _subset(a, mine)
        limits = limits_for(
            sub,
            [c.ttft_s for c in cases],
            [c.itl_s for c in cases],
            [c.latency_s for c in cases],
            percentile,
            arrivals,
        )
        found = best(sub, replica.take(mine), n, limits)
        rows = np.flatnonzero(mine)
        for i in members:
            if found.row[i] >= 0:
                out.qps[i] = found.qps[i]
                out.saturation_qps[i] = found.saturation_qps[i]
                out.row[i] = rows[found.row[i]]
                out.binding[i] = found.binding[i]
    return a, replica, out


@dataclass(frozen=True)
class PointObservation:
    """One load point as the calibration takes it: the cell, the rate it achieved, its median
    ITL (the figure least disturbed by a short run) and its arrivals; its p99 TTFT and ITL
    (what `advisor fidelity` predicts from the other points)."""

    cell: Cell
    rate: float
    itl_p50_s: float
    arrivals: Arrivals
    ttft_p99_s: float | None = None
    itl_p99_s: float | None = None


def fastest(a: Arranged, replica: Replica, owners: Sequence[int] | None = None) -> dict[int, int]:
    """For each cell (of `owners`, default all), the arrangement row that serves most when
    unconstrained: the one a throughput row ran on, or a load point's replica."""
    sat = saturation_rate(replica) * a.replicas
    wanted = None if owners is None else set(owners)
    chosen: dict[int, int] = {}
    for j, owner in enumerate(a.owner):
        if wanted is not None and int(owner) not in wanted:
            continue
        if owner not in chosen or sat[j] > sat[chosen[owner]]:
            chosen[int(owner)] = j
    return chosen


def point_figures(
    points: Sequence[PointObservation],
    sync_params: Mapping[str, float],
    load_params: Mapping[str, float],
    engine: str,
    percentile: float,
) -> tuple[Array, Array, Array]:
    """Predicted (TTFT, ITL) in s of each load point at the rate it achieved and its own
    arrivals, on the arrangement that serves most when unconstrained (NaN: none fits), and
    that arrangement's tensor-parallel size."""
    ttft, itl = np.full(len(points), np.nan), np.full(len(points), np.nan)
    tp = np.array([p.cell.gpu_count for p in points], dtype=int)
    if not points:
        return ttft, itl, tp
    cells = [p.cell for p in points]
    a = arranged(cells, sync_params, engine)
    replica = costed(a, cells, load_params)
    for i, j in fastest(a, replica).items():
        point = points[i]
        rate = np.array([point.rate / a.replicas[j]])
        f = figures(replica.take(np.array([j])), rate, percentile, point.arrivals)
        ttft[i], itl[i], tp[i] = f.ttft_s[0], f.itl_s[0], a.tp[j]
    return ttft, itl, tp


def point_factors(
    points: Sequence[PointObservation],
    sync_params: Mapping[str, float],
    load_params: Mapping[str, float],
    engine: str,
) -> list[tuple[str, float]]:
    """(configuration, log k) of each load point: k = measured / predicted median ITL at the
    rate it achieved."""
    _, itl, tps = point_figures(points, sync_params, load_params, engine, 50.0)
    out = []
    for point, predicted, tp in zip(points, itl, tps, strict=True):
        if math.isfinite(predicted) and predicted > 0:
            name = configuration(point.cell, int(tp))
            out.append((name, math.log(point.itl_p50_s / predicted)))
    return out


def fit_load(
    cases: Sequence[LoadCase],
    measured_qps: Array,
    sync_params: Mapping[str, float],
    engine: str,
    points: Sequence[PointObservation] = (),
) -> dict[str, float]:
    """Compute efficiency on the unconstrained cases, then each configuration's factor on all
    of them and on its load points (twice: a factor changes which limit binds)."""
    cells = [c.cell for c in cases]
    a = arranged(cells, sync_params, engine)
    free = [i for i, c in enumerate(cases) if c.unconstrained]
    # The arrangement a throughput row ran on: the one with the highest roofline saturation.
    chosen = fastest(a, costed(a, cells, {}), free)
    usable = [i for i in free if i in chosen]
    params: dict[str, float] = {}
    if usable:
        params.update(
            fit_efficiency(
                a,
                cells,
                np.array([chosen[i] for i in usable]),
                np.asarray(measured_qps, float)[usable],
            )
        )
    for _ in range(2):
        _, _, found = evaluate_cases(cases, sync_params, params, engine)
        names = [
            configuration(c, int(a.tp[j])) if j >= 0 else ""
            for c, j in zip(cells, found.row, strict=True)
        ]
        more = point_factors(points, sync_params, params, engine)
        factors = calibration_factors(found.qps, np.asarray(measured_qps, float), names, more)
        for key, factor in factors.items():
            params[key] = params.get(key, 1.0) * factor
    return params
