"""A step-level simulation of vLLM's V1 scheduler under load: continuous batching with chunked
prefill, a token budget, a sequence limit and a paged KV cache, giving TTFT and ITL distributions
against the request rate. The queueing approximation in answers is calibrated and tested on it."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import Field

from advisor.errors import InvalidInputError
from advisor.vocabulary import Arrivals, Frozen

WARMUP_FRACTION = 0.1
"""Share of the first arrivals left out of every figure: the server starts empty."""

FLOOD_RATE = 1e9
"""Requests per second at which every request of a run arrives before the first step ends."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class StepCost(Frozen):
    """What one scheduler step costs, from the performance model's per-step terms."""

    fixed_s: float = Field(
        ge=0, description="per step, whatever the batch: weight streaming, launches, all-reduces"
    )
    per_context_token_s: float = Field(
        ge=0, description="per token of KV cache read, summed over the decoding sequences"
    )
    per_decode_token_s: float = Field(ge=0, description="compute per decoding sequence")
    per_prefill_token_s: float = Field(ge=0, description="compute per prompt token in the batch")
    request_overhead_s: float = Field(
        default=0.0, ge=0, description="added once to each TTFT: HTTP, tokenisation, detokenising"
    )

    def step_s(self, context_tokens: int, n_decode: int, n_prefill: int) -> float:
        """Duration of a step reading `context_tokens` of KV for `n_decode` decoding sequences
        and computing `n_prefill` prompt tokens."""
        return (
            self.fixed_s
            + context_tokens * self.per_context_token_s
            + n_decode * self.per_decode_token_s
            + n_prefill * self.per_prefill_token_s
        )


class SchedulerLimits(Frozen):
    """The serving engine's scheduler settings and the KV cache it has."""

    token_budget: int = Field(gt=0, description="max_num_batched_tokens: tokens in one step")
    max_num_seqs: int = Field(gt=0, description="most sequences running at once")
    kv_capacity_tokens: int = Field(gt=0, description="KV cache left after the weights, tokens")
    block_size: int = Field(default=16, gt=0, description="tokens per KV cache block")

    @property
    def kv_blocks(self) -> int:
        return self.kv_capacity_tokens // self.block_size


class Workload(Frozen):
    """A GuideLLM-style synthetic load: fixed prompt and output lengths (ignore_eos)."""

    prompt_tokens: int = Field(gt=0, description="prompt length of every request")
    output_tokens: int = Field(gt=0, description="output length of every request")
    rate: float = Field(gt=0, description="requests per second")
    arrivals: Arrivals = Field(description="constant spacing or a Poisson process")
    n_requests: int = Field(gt=0, description="requests sent, warm-up included")
    seed: int = Field(default=0, description="seeds the Poisson arrivals")


class LatencyPercentile(Frozen):
    """One percentile of each distribution a simulation gives."""

    q: float = Field(description="the percentile, in 0-100")
    ttft_s: float = Field(description="time to first token, over requests")
    itl_s: float = Field(description="inter-token latency, over token intervals")
    request_itl_s: float = Field(
        description="a request's mean inter-token latency, over requests: GuideLLM's ITL"
    )
    latency_s: float = Field(description="end-to-end latency, over requests")


@dataclass(frozen=True, slots=True)
class StepTrace:
    """What one step held, for checking the scheduler's invariants."""

    start_s: float
    duration_s: float
    n_running: int
    n_decode: int
    n_prefill_tokens: int
    scheduled_tokens: int
    context_tokens: int
    kv_blocks_used: int
    n_admitted: int = 0
    """Waiting requests that got their first chunk (or, preempted, their first again)."""
    n_preempted: int = 0


@dataclass(frozen=True)
class SimulationResult:
    """Figures of the measured requests (the warm-up left out), all times in seconds."""

    workload: Workload
    ttft_s: FloatArray
    """Per measured request, the request overhead included."""
    latency_s: FloatArray
    """Per measured request, arrival to last token plus the request overhead."""
    itl_s: FloatArray
    """Every gap between consecutive tokens of a measured request."""
    request_itl_s: FloatArray
    """Per measured request, its mean gap between tokens. GuideLLM's ITL percentiles are over
    these (each weighted by its intervals, equal here), so its p99 hides the spikes that a
    prefill chunk puts in `itl_s`: compare measured sweeps with this one."""
    achieved_rate: float
    """Requests completed per second between the first and the last WARMUP_FRACTION of the
    completions: the offered rate below saturation, the capacity above (0 if no time passed)."""
    mean_in_flight: float
    """Time-averaged requests in the server, waiting or running, over the same window (the
    request overhead is outside the server, so Little's law holds for latency less overhead)."""
    peak_running: int
    preemptions: int
    steps: int

    def percentiles(self, q: float) -> LatencyPercentile:
        """TTFT, ITL and latency at percentile `q` (e.g. one of vocabulary.PERCENTILES)."""
        if not 0 <= q <= 100:
            raise InvalidInputError(f"a percentile is in 0-100, not {q}")

        def at(values: FloatArray) -> float:
            return float(np.percentile(values, q)) if values.size else 0.0

        return LatencyPercentile(
            q=q,
            ttft_s=at(self.ttft_s),
            itl_s=at(self.itl_s),
            request_itl_s=at(self.request_itl_s),
            latency_s=at(self.latency_s),
        )


def arrival_times(workload: Workload) -> FloatArray:
    """When each request arrives, the first at zero."""
    n = workload.n_requests
    if workload.arrivals is Arrivals.CONSTANT:
        return np.arange(n, dtype=np.float64) / workload.rate
    gaps = np.random.default_rng(workload.seed).exponential(1.0 / workload.rate, size=n)
    gaps[0] = 0.0
    return np.cumsum(gaps)


def simulate(
    cost: StepCost,
    limits: SchedulerLimits,
    workload: Workload,
    trace: list[StepTrace] | None = None,
) -> SimulationResult:
    """Run every request of `workload` to completion; append each step to `trace` if given."""
    # A request holds at most prompt + output - 1 tokens: the last token is never fed back.
    tokens = workload.prompt_tokens + workload.output_tokens - 1
    if -(-tokens // limits.block_size) > limits.kv_blocks:
        raise InvalidInputError(
            f"one request needs {tokens} tokens of KV cache; "
            f"{limits.kv_blocks * limits.block_size} are left after the weights"
        )
    engine = _Engine(cost, limits, workload, trace)
    engine.run()
    return _result(engine)


class _Engine:
    """The scheduler's state between steps: per-request arrays indexed by arrival order."""

    def __init__(
        self,
        cost: StepCost,
        limits: SchedulerLimits,
        workload: Workload,
        trace: list[StepTrace] | None,
    ) -> None:
        self.cost, self.limits, self.workload, self.trace = cost, limits, workload, trace
        self.prompt, self.output = workload.prompt_tokens, workload.output_tokens
        n = workload.n_requests
        self.arrive = arrival_times(workload)
        self.measured = np.arange(n) >= int(WARMUP_FRACTION * n)
        self.computed = np.zeros(n, dtype=np.int64)  # tokens in the KV cache
        self.emitted = np.zeros(n, dtype=np.int64)
        self.held = np.zeros(n, dtype=np.int64)  # KV blocks
        self.first_s = np.full(n, np.nan)
        self.last_s = np.zeros(n)
        self.finish_s = np.full(n, np.nan)
        self.itl_chunks: list[FloatArray] = []
        self.running = np.zeros(0, dtype=np.int64)  # in admission order
        self.waiting: deque[int] = deque()
        self.free_blocks = limits.kv_blocks
        self.next_arrival = self.done = 0
        self.now = float(self.arrive[0])
        self.preemptions = self.steps = self.peak_running = 0

    def run(self) -> None:
        n = self.workload.n_requests
        while self.done < n:
            while self.next_arrival < n and self.arrive[self.next_arrival] <= self.now:
                self.waiting.append(self.next_arrival)
                self.next_arrival += 1
            if self.running.size == 0 and not self.waiting:
                self.now = float(self.arrive[self.next_arrival])
            elif not self._decode_run():
                self._step()

    def _step(self) -> None:
        """One scheduler step, in vLLM V1's order."""
        bs, budget, running = self.limits.block_size, self.limits.token_budget, self.running
        # 1. Running requests, in admission order, within the token budget.
        computed, held = self.computed[running], self.held[running]
        need = self.prompt + self.emitted[running] - computed
        before = np.cumsum(need) - need
        take = np.clip(np.minimum(need, budget - before), 0, None)
        new_blocks = np.where(take > 0, -(-(computed + take) // bs) - held, 0)
        n_scheduled = int(np.count_nonzero(take))
        preempted = 0
        if int(new_blocks[:n_scheduled].sum()) > self.free_blocks:
            n_scheduled, keep = _fit_by_preempting(new_blocks[:n_scheduled], held, self.free_blocks)
            victims = running[keep:]
            self.free_blocks += int(self.held[victims].sum())
            self.held[victims] = 0
            self.computed[victims] = 0
            self.waiting.extendleft(victims[::-1].tolist())
            self.preemptions += victims.size
            preempted = victims.size
            self.running = running = running[:keep]
        ids, take = running[:n_scheduled], take[:n_scheduled]
        self.free_blocks -= int(new_blocks[:n_scheduled].sum())
        self.held[ids] += new_blocks[:n_scheduled]
        budget_left = budget - int(take.sum())

        # 2. Waiting requests, first come first served; none in a step that preempted.
        admitted: list[int] = []
        chunks: list[int] = []
        while (
            not preempted
            and self.waiting
            and budget_left > 0
            and running.size + len(admitted) < self.limits.max_num_seqs
        ):
            rid = self.waiting[0]
            chunk = min(self.prompt + int(self.emitted[rid]), budget_left)
            blocks = -(-chunk // bs)
            if blocks > self.free_blocks:
                break
            self.waiting.popleft()
            self.free_blocks -= blocks
            self.held[rid] = blocks
            budget_left -= chunk
            admitted.append(rid)
            chunks.append(chunk)
        if admitted:
            new = np.asarray(admitted, dtype=np.int64)
            self.running = running = np.concatenate([running, new])
            ids = np.concatenate([ids, new])
            take = np.concatenate([take, np.asarray(chunks, dtype=np.int64)])
        if ids.size == 0:
            raise AssertionError("a step with work pending scheduled nothing")

        # 3. The step's cost, then the tokens it emits.
        emitted = self.emitted[ids]
        decoding = (
            (emitted > 0) & (self.computed[ids] + take == self.prompt + emitted) & (take == 1)
        )
        self.computed[ids] += take
        context = int(self.computed[ids][decoding].sum())
        n_decode = int(np.count_nonzero(decoding))
        n_tokens = int(take.sum())
        duration = self.cost.step_s(context, n_decode, n_tokens - n_decode)
        if self.trace is not None:
            self.trace.append(
                StepTrace(
                    start_s=self.now,
                    duration_s=duration,
                    n_running=running.size,
                    n_decode=n_decode,
                    n_prefill_tokens=n_tokens - n_decode,
                    scheduled_tokens=n_tokens,
                    context_tokens=context,
                    kv_blocks_used=self.limits.kv_blocks - self.free_blocks,
                    n_admitted=len(admitted),
                    n_preempted=preempted,
                )
            )
        self.now += duration
        self.steps += 1
        self.peak_running = max(self.peak_running, running.size)
        emit = ids[self.computed[ids] == self.prompt + self.emitted[ids]]
        first = emit[self.emitted[emit] == 0]
        self.first_s[first] = self.now
        later = emit[(self.emitted[emit] > 0) & self.measured[emit]]
        if later.size:
            self.itl_chunks.append(self.now - self.last_s[later])
        self._emitted(emit)

    def _decode_run(self) -> bool:
        """Take every step at once while the batch is only decodes and nothing changes it (no
        arrival, finish or preemption): they differ only in context length. This is most of
        the steps at low load, and the simulation's speed there."""
        ids, bs = self.running, self.limits.block_size
        if self.waiting or ids.size == 0 or ids.size > self.limits.token_budget:
            return False
        computed, emitted = self.computed[ids], self.emitted[ids]
        if not np.all((emitted > 0) & (computed + 1 == self.prompt + emitted)):
            return False
        m = ids.size
        k = int((self.output - emitted).min())
        j = np.arange(1, k + 1)
        context = int(computed.sum()) + m * j
        durations = self.cost.step_s(0, m, 0) + self.cost.per_context_token_s * context
        ends = self.now + np.cumsum(durations)
        if self.next_arrival < self.workload.n_requests:
            starts = ends - durations
            k = int(np.searchsorted(starts, self.arrive[self.next_arrival], side="left"))
        # A sequence needs a new block at the steps where its length crosses a block boundary.
        phase = np.bincount((-computed) % bs, minlength=bs)
        crossings = np.maximum((j[:k, None] - 1 - np.arange(bs)) // bs + 1, 0)
        new_blocks = crossings @ phase
        k = int(np.searchsorted(new_blocks, self.free_blocks, side="right"))
        if k == 0:
            return False
        if self.trace is not None:
            used = self.limits.kv_blocks - self.free_blocks
            self.trace.extend(
                StepTrace(
                    start_s=float(ends[i] - durations[i]),
                    duration_s=float(durations[i]),
                    n_running=m,
                    n_decode=m,
                    n_prefill_tokens=0,
                    scheduled_tokens=m,
                    context_tokens=int(context[i]),
                    kv_blocks_used=used + int(new_blocks[i]),
                )
                for i in range(k)
            )
        self.free_blocks -= int(new_blocks[k - 1])
        self.computed[ids] += k
        self.held[ids] = -(-self.computed[ids] // bs)
        gaps_of = ids[self.measured[ids]]
        if gaps_of.size:
            self.itl_chunks.append(ends[0] - self.last_s[gaps_of])
            self.itl_chunks.append(np.repeat(durations[1:k], gaps_of.size))
        self.now = float(ends[k - 1])
        self.steps += k
        self.peak_running = max(self.peak_running, m)
        self.emitted[ids] += k - 1
        self._emitted(ids)
        return True

    def _emitted(self, ids: IntArray) -> None:
        """`ids` emitted a token at `now`: count it, and free the requests that are done."""
        self.last_s[ids] = self.now
        self.emitted[ids] += 1
        finished = ids[self.emitted[ids] == self.output]
        if finished.size:
            self.finish_s[finished] = self.now
            self.free_blocks += int(self.held[finished].sum())
            self.held[finished] = 0
            self.running = self.running[self.emitted[self.running] < self.output]
            self.done += finished.size


def _fit_by_preempting(
    new_blocks: IntArray, held_running: IntArray, free_blocks: int
) -> tuple[int, int]:
    """How many of the budgeted running requests get their blocks, and how many stay running,
    when vLLM frees blocks by preempting the most recently admitted until each allocation fits
    (or until the request being allocated is itself preempted)."""
    keep = held_running.size
    allocated = 0
    i = 0
    while i < min(new_blocks.size, keep):
        blocks = int(new_blocks[i])
        while allocated + blocks > free_blocks:
            keep -= 1
            if keep == i:
                return i, i
            free_blocks += int(held_running[keep])
        allocated += blocks
        i += 1
    return i, keep


def _result(engine: _Engine) -> SimulationResult:
    arrive, finish_s, measured = engine.arrive, engine.finish_s, engine.measured
    # The window is the central completions, not the measured arrivals: past saturation the
    # arrivals can all be over before the first request completes, and the fill and drain at
    # either end are no steady state. Below saturation it gives the offered rate.
    done = np.sort(finish_s)
    n = done.size
    start = float(done[int(WARMUP_FRACTION * n)])
    end = float(done[max(math.ceil((1 - WARMUP_FRACTION) * n) - 1, 0)])
    span = end - start
    completed = np.count_nonzero((done > start) & (done <= end))
    overlap = np.clip(np.minimum(finish_s, end) - np.maximum(arrive, start), 0, None)
    overhead = engine.cost.request_overhead_s
    chunks = engine.itl_chunks
    intervals = engine.output - 1
    decoding_s = finish_s[measured] - engine.first_s[measured]
    return SimulationResult(
        workload=engine.workload,
        ttft_s=engine.first_s[measured] - arrive[measured] + overhead,
        latency_s=finish_s[measured] - arrive[measured] + overhead,
        itl_s=np.concatenate(chunks) if chunks else np.zeros(0),
        request_itl_s=decoding_s / intervals if intervals else np.zeros(0),
        achieved_rate=completed / span if span > 0 else 0.0,
        mean_in_flight=float(overlap.sum()) / span if span > 0 else 0.0,
        peak_running=engine.peak_running,
        preemptions=engine.preemptions,
        steps=engine.steps,
    )


def saturation(
    cost: StepCost,
    limits: SchedulerLimits,
    prompt_tokens: int,
    output_tokens: int,
    n_requests: int | None = None,
) -> SimulationResult:
    """Every request at once: the achieved rate is the capacity (the unconstrained throughput)
    and the peak running the batch it runs at. The default `n_requests` turns the largest
    batch over ten times, which the capacity needs to leave the first wave's transient."""
    per_request = -(-(prompt_tokens + output_tokens - 1) // limits.block_size)
    batch = min(limits.max_num_seqs, max(limits.kv_blocks // per_request, 1))
    n = n_requests or max(10 * batch, 200)
    return sweep(cost, limits, prompt_tokens, output_tokens, [FLOOD_RATE], Arrivals.CONSTANT, n)[0]


def max_rate(
    cost: StepCost,
    limits: SchedulerLimits,
    workload: Workload,
    *,
    q: float,
    ttft_limit_s: float = math.inf,
    itl_limit_s: float = math.inf,
    latency_limit_s: float = math.inf,
    iterations: int = 10,
) -> float:
    """The highest rate at which the `q`th percentiles meet every limit, found by bisection
    between nothing and the capacity; `workload.rate` is ignored. ITL is judged as GuideLLM
    reports it (over requests' means). 0 when even an idle server misses a limit. A finite
    run's percentiles are not strictly monotone in the rate: the answer is as good as the
    noise of `workload.n_requests` allows."""

    def meets(rate: float) -> bool:
        run = simulate(cost, limits, workload.model_copy(update={"rate": rate}))
        at = run.percentiles(q)
        return (
            at.ttft_s <= ttft_limit_s
            and at.request_itl_s <= itl_limit_s
            and at.latency_s <= latency_limit_s
        )

    top = saturation(cost, limits, workload.prompt_tokens, workload.output_tokens)
    low, high = top.achieved_rate * 1e-3, top.achieved_rate
    if not meets(low):
        return 0.0
    for _ in range(iterations):
        middle = (low + high) / 2
        low, high = (middle, high) if meets(middle) else (low, middle)
    return low


def sweep(
    cost: StepCost,
    limits: SchedulerLimits,
    prompt_tokens: int,
    output_tokens: int,
    rates: Sequence[float],
    arrivals: Arrivals,
    n_requests: int,
    seed: int = 0,
) -> list[SimulationResult]:
    """One simulation per rate, same workload otherwise: a load curve."""
    shape = {"prompt_tokens": prompt_tokens, "output_tokens": output_tokens, "seed": seed}
    load = {"arrivals": arrivals, "n_requests": n_requests}
    return [
        simulate(cost, limits, Workload.model_validate({**shape, **load, "rate": rate}))
        for rate in rates
    ]
