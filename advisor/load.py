"""Latency under load: TTFT, ITL and latency percentiles of a continuously batched replica
against the request rate, its saturation rate, and the max rate within limits.

A vLLM-style scheduler runs steps. Each step holds every decoding sequence (one token each) and
fills the rest of a token budget C with prompt chunks; a step costs

    step = F + (context tokens of the decoding sequences) Kc + B Cd + (prompt tokens) Cp

with F the per-step cost whatever the batch (weights, launches, all-reduces; a mixture of
experts' F grows with the batch as its tokens touch more experts, `mean_fixed_s`, and the mean
step is then a fixed point found by bisection), Kc the KV read
per context token, Cd the compute of one decoding sequence and Cp of one prompt token. F, Kc and
Cp come from the synchronous per-token model (`advisor.latency`) of the same configuration, Cd
from the decode FLOPs at the datasheet peak scaled by a fitted batched-compute efficiency
(`advisor.load_fit`).

Steady state at rate lam, prompt P, answer D: every request costs a = (D - 1)(c Kc + Cd) + P Cp
of step time beyond F (c = P + D/2, the mean context), so the mean step is s = F / (1 - lam a),
B = lam (D - 1) s sequences decode and lam P s prompt tokens are prefilled per step. It
saturates when B reaches the smallest of max_num_seqs, the KV cache left after the weights over
c, and the token budget's share C (D - 1) / (D - 1 + P).

Percentiles (GuideLLM's: ITL is the per-request mean over its tokens, token-weighted):
- ITL = s, plus the spread of a request's steps: some carry prompt chunks (the share of steps
  that do, phi, follows from the chunk starts per step), and under Poisson arrivals B itself
  fluctuates like the in-flight count of an M/G/infinity queue;
- TTFT = the rest of the current step, the wait for the prompt budget (M/D/1, Poisson only:
  utilisation lam P s_full / (C - B)), the wait for a free sequence slot near saturation
  (Sakasegawa's M/G/c approximation with c = the saturation batch), and the prompt's own
  chunks; waits use exponential tails;
- latency = TTFT + (D - 1) ITL + the per-request cost outside the steps.
The constants of the approximation are checked against a step-level simulation of the
scheduler (`advisor.simulate`, tests/advisor/test_load.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from advisor.vocabulary import Arrivals, Binding

Array = NDArray[Any]

# Normal quantiles of the percentiles GuideLLM reports (scipy is not imported for four numbers).
Z = {50.0: 0.0, 90.0: 1.2815516, 95.0: 1.6448536, 99.0: 2.3263479}
# Under Poisson arrivals requests see different batches (and so different mean ITLs) through
# their lives: the spread's scale on the in-flight count's Poisson variance, fitted on the
# step-level simulation (benchmarks/load_model.py).
BATCH_SPREAD = 6.0
# The waits' scales, fitted on the step-level simulation (benchmarks/load_model.py): the prompt
# budget's M/D/1 queue as it is, and the wait for a sequence slot far below Sakasegawa's 0.5
# (vLLM frees slots every step, not after a whole residence); kept above zero so that the
# wait still grows without bound at saturation.
PROMPT_QUEUE_FACTOR = 1.0
SLOT_WAIT_FACTOR = 0.01
# Bisection steps for the max rate: within 2^-13 (0.012%) of the saturation rate, far below the
# model's error; the answer is the low end, so it always meets the limits.
BISECTION_STEPS = 13
# A max rate within this of saturation is set by saturation (compute or KV cache).
SATURATION_MARGIN = 1e-3
# Bisection steps for a mixture of experts' mean step: within 2^-30 of the experts' read time.
STEADY_STEPS = 30


@dataclass(frozen=True)
class Replica:
    """Per-step costs (s) and scheduler limits of replicas, one entry per configuration."""

    fixed_s: Array  # F: per step, whatever the batch
    context_s: Array  # Kc: per context token of the decoding sequences, per step
    decode_s: Array  # Cd: compute of one decoding sequence, per step
    prompt_s: Array  # Cp: per prompt token
    request_s: Array  # per request, outside the steps
    token_budget: Array  # C: max_num_batched_tokens
    max_num_seqs: Array
    kv_tokens: Array  # KV cache left after the weights, tokens
    prompt: Array  # P, tokens
    output: Array  # D, tokens
    ttft_alone_s: Array  # TTFT of one request on an idle replica: load only adds to it
    itl_alone_s: Array  # ITL of one request on an idle replica
    experts_s: Array  # W: every routed expert read once (0: dense), see `mean_fixed_s`
    expert_share: Array  # k / E: routed experts one token uses (0: dense)

    def scaled(self, factor: Array | float) -> Replica:
        """The same replicas with every step cost times `factor` (a calibration, or an end of
        the prediction's interval)."""
        f = np.asarray(factor, dtype=float)
        return replace(
            self,
            fixed_s=self.fixed_s * f,
            context_s=self.context_s * f,
            decode_s=self.decode_s * f,
            prompt_s=self.prompt_s * f,
            ttft_alone_s=self.ttft_alone_s * f,
            itl_alone_s=self.itl_alone_s * f,
            experts_s=self.experts_s * f,
        )

    def take(self, index: Array) -> Replica:
        return Replica(**{k: np.asarray(v)[index] for k, v in self.__dict__.items()})

    @staticmethod
    def stack(parts: list[Replica]) -> Replica:
        fields = Replica.__dataclass_fields__
        return Replica(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in fields})


@dataclass(frozen=True)
class Figures:
    """Latency percentiles at one rate (s), and the mean in-flight batch."""

    ttft_s: Array
    itl_s: Array
    latency_s: Array
    batch: Array
    stable: Array


def _steps(r: Replica) -> Array:
    return np.asarray(np.maximum(r.output - 1, 1), dtype=float)


def touched_share(expert_share: Array, tokens: Array) -> Array:
    """The share of each MoE layer's routed experts a step over `tokens` tokens reads, under
    uniform routing (`advisor.sizes.touched_experts`): 1 - (1 - k/E)^tokens, k/E for one
    token, 0 for a dense model."""
    n = np.maximum(np.asarray(tokens, dtype=float), 1.0)
    k_e = np.minimum(expert_share, 1.0 - 1e-12)
    return np.where(expert_share > 0, -np.expm1(n * np.log1p(-k_e)), 0.0)


def mean_fixed_s(r: Replica, batch: Array) -> Array:
    """F of the mean step with `batch` sequences decoding. A dense replica's is F whatever the
    batch. A mixture of experts' decode steps read the experts their `batch` tokens touch, and
    the share phi of steps that carry a prompt chunk (as in `figures`) those of the chunk's
    tokens too:

        F + W ((1 - phi) touched(B) + phi touched(B + P / chunks) - k/E)."""
    if not np.any(r.experts_s > 0):
        return np.asarray(r.fixed_s, dtype=float)
    b = np.maximum(np.asarray(batch, dtype=float), 0.0)
    free = np.maximum(r.token_budget - b, 1.0)
    chunks = np.maximum(np.ceil(r.prompt / free), 1.0)
    phi = -np.expm1(-b * chunks / _steps(r))  # lam s chunks, with lam s = B / (D - 1)
    decode = touched_share(r.expert_share, b)
    prompt = touched_share(r.expert_share, b + r.prompt / chunks)
    extra = r.experts_s * ((1 - phi) * decode + phi * prompt - r.expert_share)
    return np.where(r.experts_s > 0, r.fixed_s + np.maximum(extra, 0.0), r.fixed_s)


def _steady_fixed_s(r: Replica, lam: Array, a: Array, stable: Array) -> Array:
    """F of the mean step at rate `lam`: the fixed point of s = F(lam (D - 1) s) / (1 - lam a),
    by bisection between the batch-1 cost and every expert read (F grows with the batch,
    which grows with s)."""
    if not np.any(r.experts_s > 0):
        return np.asarray(r.fixed_s, dtype=float)
    denominator = np.where(stable, 1 - lam * a, 1.0)
    per_step = lam * _steps(r)
    lo = r.fixed_s / denominator
    hi = (r.fixed_s + r.experts_s) / denominator
    for _ in range(STEADY_STEPS):
        mid = (lo + hi) / 2
        above = mean_fixed_s(r, per_step * mid) / denominator > mid
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return mean_fixed_s(r, per_step * hi)


def per_request_s(r: Replica) -> Array:
    """a: step time one request adds beyond the fixed cost (its decode steps and prompt)."""
    context = r.prompt + r.output / 2
    per_request = _steps(r) * (context * r.context_s + r.decode_s) + r.prompt * r.prompt_s
    return np.asarray(per_request, dtype=float)


def saturation_batch(r: Replica) -> tuple[Array, Array]:
    """The decoding batch at saturation, and whether the KV cache (not the scheduler's
    sequence or token budget) sets it."""
    context = r.prompt + r.output / 2
    by_kv = r.kv_tokens / context
    by_budget = r.token_budget * _steps(r) / (_steps(r) + r.prompt)
    by_scheduler = np.minimum(r.max_num_seqs, by_budget)
    return np.minimum(by_kv, by_scheduler), by_kv < by_scheduler


def saturated_fixed_s(r: Replica) -> Array:
    """F of the mean step at the saturation batch."""
    batch, _ = saturation_batch(r)
    return mean_fixed_s(r, batch)


def saturation_rate(r: Replica) -> Array:
    """Requests/s a replica serves flat out: the unconstrained throughput."""
    batch, _ = saturation_batch(r)
    fixed = mean_fixed_s(r, batch)
    rate = batch / (_steps(r) * fixed + batch * per_request_s(r))
    return np.where(batch >= 1, rate, 0.0)


def _exponential_tail(mean_given_wait: Array, p_wait: Array, q: float) -> Array:
    """The q-quantile of a wait that is 0 with probability 1 - p_wait and else exponential."""
    tail = 1 - q / 100
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean_given_wait * np.log(np.maximum(p_wait, 1e-300) / tail)
    return np.where(p_wait > tail, np.maximum(out, 0.0), 0.0)


def figures(r: Replica, rate: Array, percentile: float, arrivals: Arrivals) -> Figures:
    """TTFT, ITL and latency at `percentile` for each replica at `rate` requests/s."""
    lam = np.asarray(rate, dtype=float)
    q = percentile / 100
    z = Z[percentile]
    poisson = arrivals is Arrivals.POISSON
    steps = _steps(r)
    context = r.prompt + r.output / 2
    per_seq = context * r.context_s + r.decode_s
    a = per_request_s(r)
    sat = saturation_rate(r)
    limit_batch, _ = saturation_batch(r)
    stable = (lam < sat) & (lam * a < 1)
    fixed = _steady_fixed_s(r, lam, a, stable)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        step = np.where(stable, fixed / (1 - lam * a), np.inf)
        batch = lam * steps * step
        prompt_per_step = lam * r.prompt * step
        free = np.maximum(r.token_budget - batch, 1.0)
        chunks = np.maximum(np.ceil(r.prompt / free), 1.0)
        # ITL: the per-request mean over its steps.
        phi = -np.expm1(-lam * step * chunks)
        extra = np.where(phi > 0, prompt_per_step * r.prompt_s / np.maximum(phi, 1e-12), 0.0)
        extra = np.minimum(extra, free * r.prompt_s)
        # Constant arrivals give every request the same mix of steps: no spread between them.
        spread = np.zeros_like(step)
        if poisson:
            spread = phi * (1 - phi) * extra**2 / steps + BATCH_SPREAD * batch * per_seq**2
        itl = step + z * np.sqrt(spread)
        # TTFT: the current step, the prompt budget's queue, a free slot, the prompt's chunks.
        decode_step = fixed + batch * per_seq
        own = chunks * decode_step + r.prompt * r.prompt_s
        ttft = q * step + own
        if poisson:
            full_step = decode_step + free * r.prompt_s
            service = r.prompt * full_step / free
            rho = np.minimum(lam * service, 1 - 1e-12)
            queue = PROMPT_QUEUE_FACTOR * service / (2 * (1 - rho))
            ttft = ttft + _exponential_tail(queue, rho, percentile)
            util = np.minimum(lam / np.maximum(sat, 1e-300), 1 - 1e-12)
            slots = np.maximum(limit_batch, 1.0)
            p_wait = util ** np.sqrt(2 * (slots + 1))
            residence = steps * step + own
            mean_wait = SLOT_WAIT_FACTOR * p_wait / (slots * (1 - util)) * residence
            given_wait = mean_wait / np.maximum(p_wait, 1e-300)
            ttft = ttft + _exponential_tail(given_wait, p_wait, percentile)
        ttft = np.maximum(ttft, r.ttft_alone_s)
        itl = np.maximum(itl, r.itl_alone_s)
        latency = ttft + steps * itl + r.request_s
    inf = np.inf
    return Figures(
        ttft_s=np.where(stable, ttft, inf),
        itl_s=np.where(stable, itl, inf),
        latency_s=np.where(stable, latency, inf),
        batch=np.where(stable, batch, inf),
        stable=stable,
    )


@dataclass(frozen=True)
class Limits:
    """Limits in seconds (inf: none), one entry per replica, at one percentile."""

    ttft_s: Array
    itl_s: Array
    latency_s: Array
    percentile: float
    arrivals: Arrivals


def _within(f: Figures, limits: Limits) -> Array:
    return (
        f.stable
        & (f.ttft_s <= limits.ttft_s)
        & (f.itl_s <= limits.itl_s)
        & (f.latency_s <= limits.latency_s)
    )


def max_rate(r: Replica, limits: Limits) -> tuple[Array, list[Binding | None]]:
    """The highest rate per replica whose percentiles meet every limit (0 where none does), and
    what binds: the limit at its edge, or compute / the KV cache at saturation."""
    sat = saturation_rate(r)
    lo = np.zeros(len(sat))
    hi = sat.copy()
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        good = _within(figures(r, mid, limits.percentile, limits.arrivals), limits)
        lo, hi = np.where(good, mid, lo), np.where(good, hi, mid)
    # The lowest rate must pass too (an idle replica already over a limit serves nothing).
    idle = _within(figures(r, sat * 1e-9, limits.percentile, limits.arrivals), limits)
    rate = np.where(idle & (sat > 0), lo, 0.0)
    at = figures(r, rate, limits.percentile, limits.arrivals)
    _, kv_bound = saturation_batch(r)
    # The limit closest to its edge binds (at rate 0: the one an idle replica misses most).
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.nan_to_num(
            np.stack(
                [
                    at.ttft_s / limits.ttft_s,
                    at.itl_s / limits.itl_s,
                    at.latency_s / limits.latency_s,
                ]
            ),
            nan=0.0,
        )
    tightest = np.argmax(ratios, axis=0)
    limited = (Binding.TTFT, Binding.ITL, Binding.LATENCY)
    binding: list[Binding | None] = []
    for i in range(len(rate)):
        if sat[i] <= 0:
            binding.append(Binding.KV_CACHE)
        elif rate[i] >= sat[i] * (1 - SATURATION_MARGIN):
            binding.append(Binding.KV_CACHE if kv_bound[i] else Binding.COMPUTE)
        else:
            binding.append(limited[int(tightest[i])])
    return rate, binding
