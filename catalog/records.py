"""What an import writes: one source (an artefact) holding runs (configurations) and their rows."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from advisor.vocabulary import Format, Frozen, Strategy

DecodeFlag = Literal["truncated", "suspect"]
Protocol = Literal["P1", "P2", "P3"]

# Physical bounds every imported figure is held to, so that nothing which passes an import can
# break a later read or move the advice by an impossible value. A served request takes longer
# than a loopback round trip (10 us) and less than a day; a token interval is above 1 us; a
# deployment is at most 1,024 GPUs; a prompt or output at most 10 million tokens; a rate at most
# a million requests/s; a benchmark at most a week.
DAY_S = 86_400.0
MIN_LATENCY_S = 1e-5
MIN_ITL_MS = 1e-3
MAX_GPUS = 1024
MAX_TOKENS = 10_000_000
MAX_RATE = 1e6
MAX_DURATION_S = 7 * DAY_S
MAX_NAME = 200
MAX_ARGS_BYTES = 64 * 1024  # recorded tool arguments and details, as JSON
PERCENTILES = ("min", "p50", "p90", "p95", "p99", "max")
# The unit of each GuideLLM distribution and its physical range: a request takes more than
# 10 us and a first token at least that; a token interval can be 0 (tokens streamed together).
STAT_RANGE = {
    "ttft_ms": (MIN_LATENCY_S * 1e3, DAY_S * 1e3),
    "itl_ms": (0.0, DAY_S * 1e3),
    "tpot_ms": (0.0, DAY_S * 1e3),
    "latency_s": (MIN_LATENCY_S, DAY_S),
}


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


Real = Annotated[float, BeforeValidator(_not_bool)]
Whole = Annotated[int, BeforeValidator(_not_bool)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]


def _bounded_json(value: dict[str, Any], what: str) -> dict[str, Any]:
    size = len(json.dumps(value, default=str))
    if size > MAX_ARGS_BYTES:
        raise ValueError(f"{what} take {size:,} bytes as JSON; at most {MAX_ARGS_BYTES:,}")
    return value


class SyncRow(Frozen):
    use_case: str | None = Field(default=None, description="use case id, when it is one")
    prefill_tokens: Whole = Field(gt=0, le=MAX_TOKENS, description="prompt tokens per request")
    decode_tokens: Whole = Field(
        gt=0, le=MAX_TOKENS, description="output tokens per request (nominal)"
    )
    latency_s: Real | None = Field(
        default=None,
        ge=MIN_LATENCY_S,
        le=DAY_S,
        description="end-to-end latency of one request, seconds",
    )
    published_queries_per_usd: Real | None = Field(default=None, gt=0, description="as printed")
    published_cost_reduction: Real | None = Field(default=None, gt=0, description="as printed")
    decode_flag: DecodeFlag | None = Field(
        default=None, description="truncated: generation stopped before decode_tokens; suspect"
    )
    ttft_ms: Real | None = Field(
        default=None, ge=MIN_LATENCY_S * 1e3, le=DAY_S * 1e3, description="time to first token, ms"
    )
    itl_ms: Real | None = Field(
        default=None, ge=MIN_ITL_MS, le=DAY_S * 1e3, description="inter-token latency, ms"
    )
    decode_reason: str | None = Field(
        default=None, description="why decode_flag is set: the rule and the numbers"
    )

    @model_validator(mode="after")
    def _measures_something(self) -> SyncRow:
        if self.latency_s is None and self.ttft_ms is None and self.itl_ms is None:
            raise ValueError("a synchronous row needs latency_s, ttft_ms or itl_ms")
        return self


class AsyncRow(Frozen):
    use_case: str | None = Field(default=None, description="use case id, when it is one")
    prefill_tokens: Whole = Field(gt=0, le=MAX_TOKENS, description="prompt tokens per request")
    decode_tokens: Whole = Field(
        gt=0, le=MAX_TOKENS, description="output tokens per request (nominal)"
    )
    max_qps: Real = Field(gt=0, le=MAX_RATE, description="highest request rate within the limits")
    ttft_limit_ms: Real | None = Field(
        default=None, gt=0, le=DAY_S * 1e3, description="TTFT limit; None: none"
    )
    itl_limit_ms: Real | None = Field(
        default=None, gt=0, le=DAY_S * 1e3, description="ITL limit; None: none"
    )
    published_queries_per_usd: Real | None = Field(default=None, gt=0, description="as printed")
    published_speedup: Real | None = Field(default=None, gt=0, description="as printed")
    decode_flag: DecodeFlag | None = Field(default=None, description="see SyncRow.decode_flag")
    decode_reason: str | None = Field(default=None, description="see SyncRow.decode_reason")


class Distribution(Frozen):
    """Summary of one per-request metric over the successful requests."""

    mean: Real | None = Field(default=None, description="mean")
    std: Real | None = Field(default=None, ge=0, description="standard deviation")
    min: Real | None = Field(default=None, description="minimum")
    p50: Real | None = Field(default=None, description="median")
    p90: Real | None = Field(default=None, description="90th percentile")
    p95: Real | None = Field(default=None, description="95th percentile")
    p99: Real | None = Field(default=None, description="99th percentile")
    max: Real | None = Field(default=None, description="maximum")
    count: Whole | None = Field(default=None, ge=0, le=2**31 - 1, description="number of samples")

    @model_validator(mode="after")
    def _ordered(self) -> Distribution:
        """min <= p50 <= p90 <= p95 <= p99 <= max, and the mean between min and max (a relative
        tolerance of 1e-6 for the rounding of the report)."""
        given = [(k, getattr(self, k)) for k in PERCENTILES if getattr(self, k) is not None]
        for (low_name, low), (high_name, high) in itertools.pairwise(given):
            if low > high * (1 + 1e-6) + 1e-12:
                raise ValueError(f"{low_name} ({low:g}) is above {high_name} ({high:g})")
        low, mean, high = self.min, self.mean, self.max
        if (
            low is not None
            and mean is not None
            and high is not None
            and not low * (1 - 1e-6) - 1e-12 <= mean <= high * (1 + 1e-6) + 1e-12
        ):
            raise ValueError(
                f"mean ({self.mean:g}) is outside min..max ({self.min:g}..{self.max:g})"
            )
        return self

    def values(self) -> list[float]:
        return [v for k in ("mean", *PERCENTILES) if (v := getattr(self, k)) is not None]


class LoadPoint(Frozen):
    """One GuideLLM sub-benchmark. Distribution units are in the keys of `stats`."""

    benchmark_index: Whole = Field(ge=0, le=100_000, description="position in the report")
    strategy: Strategy = Field(description="load strategy")
    target_rate: Real | None = Field(
        default=None, gt=0, le=MAX_RATE, description="requests/s asked for"
    )
    target_concurrency: Whole | None = Field(
        default=None, gt=0, le=MAX_RATE, description="streams asked for"
    )
    achieved_rps: Real | None = Field(
        default=None, ge=0, le=MAX_RATE, description="successful requests/s"
    )
    concurrency: Real | None = Field(
        default=None, ge=0, le=MAX_RATE, description="mean requests in flight"
    )
    prompt_tokens_mean: Real | None = Field(
        default=None, ge=0, le=MAX_TOKENS, description="prompt tokens"
    )
    output_tokens_mean: Real | None = Field(
        default=None, ge=0, le=MAX_TOKENS, description="output tokens"
    )
    output_tokens_per_s: Real | None = Field(
        default=None, ge=0, le=MAX_RATE * MAX_TOKENS, description="output tokens/s"
    )
    successful: Whole = Field(ge=0, le=2**31 - 1, description="successful requests")
    errored: Whole = Field(ge=0, le=2**31 - 1, description="errored requests")
    incomplete: Whole = Field(ge=0, le=2**31 - 1, description="requests cut off at the end")
    duration_s: Real | None = Field(
        default=None, ge=0, le=MAX_DURATION_S, description="benchmark duration"
    )
    started_at: datetime | None = Field(default=None, description="UTC start")
    stats: dict[str, Distribution] = Field(
        default_factory=dict, description="ttft_ms, itl_ms, tpot_ms, latency_s"
    )

    @model_validator(mode="after")
    def _physical(self) -> LoadPoint:
        for key, dist in self.stats.items():
            if key not in STAT_RANGE:
                continue
            low, high = STAT_RANGE[key]
            for value in dist.values():
                if not low <= value <= high:
                    unit = key.rsplit("_", 1)[1]
                    raise ValueError(
                        f"{key} value {value:g} is outside {low:g}..{high:g} {unit} "
                        "(longer than a day, or faster than a loopback round trip)"
                    )
        return self


class AccuracyRow(Frozen):
    suite: str = Field(min_length=1, description="benchmark suite, e.g. leaderboard_v1")
    task: str = Field(min_length=1, description="task, or 'average' for a suite average")
    metric: str = Field(min_length=1, description="metric name, e.g. acc_norm")
    filter: str = Field(default="none", description="lm-eval filter")
    n_shot: Whole | None = Field(default=None, ge=0, description="few-shot examples")
    run_index: Whole | None = Field(default=None, gt=0, description="repetition, for repeated runs")
    score: Real = Field(ge=-1e9, le=1e9, description="score; percent when score_unit is pct")
    score_unit: str = Field(default="pct", pattern="^(pct|raw)$", description="pct or raw")
    stderr: Real | None = Field(default=None, ge=0, description="standard error, same unit")
    ci95_low_delta: Real | None = Field(default=None, le=0, description="95% CI below score")
    ci95_high_delta: Real | None = Field(default=None, ge=0, description="95% CI above score")
    n_samples: Whole | None = Field(
        default=None, ge=0, le=2**31 - 1, description="documents in the task"
    )
    n_samples_effective: Whole | None = Field(
        default=None, ge=0, le=2**31 - 1, description="documents scored"
    )
    limited: bool = Field(default=False, description="a --limit run: not the whole task")
    task_version: str | None = Field(default=None, description="task version")
    protocol: Protocol | None = Field(
        default=None, description="evaluation protocol P1/P2/P3 (data/README.md); None: unstated"
    )
    published_recovery_pct: Real | None = Field(
        default=None, gt=0, le=1000, description="as printed"
    )

    @model_validator(mode="after")
    def _score_in_range(self) -> AccuracyRow:
        if self.score_unit == "pct":
            if not 0 <= self.score <= 100:
                raise ValueError(f"a percentage score must be within 0..100, got {self.score:g}")
            if self.stderr is not None and self.stderr > 100:
                raise ValueError(
                    f"a percentage's standard error is at most 100, got {self.stderr:g}"
                )
        if (
            self.n_samples is not None
            and self.n_samples_effective is not None
            and self.n_samples_effective > self.n_samples
        ):
            raise ValueError(
                f"n_samples_effective ({self.n_samples_effective}) exceeds n_samples "
                f"({self.n_samples})"
            )
        return self


class SimilarityRow(Frozen):
    metric: str = Field(pattern="^(rouge1_f|rougeL_f|embedding_cosine)$", description="measure")
    score: Real = Field(ge=-1, le=1, description="mean over the prompts")
    prompts: Whole = Field(gt=0, description="prompts answered by both models")
    baseline_format: str = Field(description="the reference, normally bf16")
    embedding_model: str | None = Field(default=None, description="for embedding_cosine")


class RunRecord(Frozen):
    label: str | None = Field(default=None, description="where in the source, e.g. table5")
    model: Name = Field(description="model id or alias")
    format: Format = Field(description="quantization format")
    method: Name | None = Field(default=None, description="quantization algorithm, e.g. gptq")
    gpu: Name | None = Field(default=None, description="GPU id or alias")
    gpu_count: Whole | None = Field(
        default=None, gt=0, le=MAX_GPUS, description="GPUs serving the model"
    )
    use_case: Name | None = Field(default=None, description="use case id")
    prefill_tokens: Whole | None = Field(
        default=None, gt=0, le=MAX_TOKENS, description="nominal prompt tokens"
    )
    decode_tokens: Whole | None = Field(
        default=None, gt=0, le=MAX_TOKENS, description="nominal output tokens"
    )
    started_at: datetime | None = Field(default=None, description="UTC start")
    engine: str | None = Field(default=None, description="serving engine, e.g. vllm")
    engine_version: str | None = Field(default=None, description="its version, e.g. 0.6.1.post2")
    args: dict[str, Any] = Field(default_factory=dict, description="tool arguments, as recorded")
    sync: list[SyncRow] = Field(default_factory=list, description="synchronous results")
    async_: list[AsyncRow] = Field(default_factory=list, description="asynchronous results")
    load_points: list[LoadPoint] = Field(default_factory=list, description="GuideLLM benchmarks")
    accuracy: list[AccuracyRow] = Field(default_factory=list, description="accuracy results")
    similarity: list[SimilarityRow] = Field(default_factory=list, description="text similarity")

    @model_validator(mode="after")
    def _consistent(self) -> RunRecord:
        _bounded_json(self.args, "the recorded tool arguments")
        seen: dict[str, int] = {}
        for point in self.load_points:
            content = point.model_dump_json(exclude={"benchmark_index"})
            if content in seen:
                raise ValueError(
                    f"benchmark {point.benchmark_index} repeats benchmark {seen[content]} "
                    "exactly (a duplicated sub-benchmark)"
                )
            seen[content] = point.benchmark_index
        indices = [p.benchmark_index for p in self.load_points]
        if len(set(indices)) != len(indices):
            raise ValueError("two benchmarks share one position in the report")
        return self


class SourceRecord(Frozen):
    kind: str = Field(
        pattern="^(study|card|guidellm|lm-eval|profiler|measurements)$", description="artefact kind"
    )
    name: str = Field(min_length=1, description="short name shown in the views' source column")
    uri: str = Field(min_length=1, description="where the artefact was read from")
    sha256: str = Field(min_length=64, max_length=64, description="content hash")
    tool: str | None = Field(default=None, description="tool that wrote it")
    tool_version: str | None = Field(default=None, description="its version")
    citation: str | None = Field(default=None, description="publication, for published data")
    host: str | None = Field(default=None, description="host that imported it")
    imported_at: datetime | None = Field(
        default=None, description="when it was first imported (a merge keeps it); None: now"
    )
    details: dict[str, Any] = Field(default_factory=dict, description="anything else recorded")

    @model_validator(mode="after")
    def _bounded(self) -> SourceRecord:
        _bounded_json(self.details, "the recorded details")
        return self


class PublishedAccuracyRow(Frozen):
    """One published (baseline, quantized, recovery) triplet, of any model, catalog or not."""

    model: str = Field(min_length=1, description="base model: catalog id where it is one")
    quantized_model: str = Field(min_length=1, description="the quantized checkpoint's name")
    format: Format = Field(description="quantization format")
    format_detail: str | None = Field(default=None, description="the publication's spelling")
    suite: str = Field(min_length=1, description="suite, e.g. leaderboard_v2, openllm_v1")
    task: str = Field(min_length=1, description="task, or 'average'")
    benchmark: str = Field(min_length=1, description="the benchmark label as published")
    n_shot: Whole | None = Field(default=None, ge=0, description="few-shot examples, if stated")
    score: Real | None = Field(default=None, description="quantized score, percent")
    baseline_score: Real | None = Field(default=None, description="BF16 score, percent")
    recovery_pct: Real | None = Field(default=None, description="as printed")
    protocol: Protocol = Field(description="P1 (the study's), P2 or P3: see data/README.md")
    notes: str | None = Field(default=None, description="caveats as transcribed")

    @model_validator(mode="after")
    def _has_a_value(self) -> PublishedAccuracyRow:
        if self.score is None and self.recovery_pct is None:
            raise ValueError("a published accuracy row needs a score or a recovery")
        return self


class Batch(Frozen):
    """Everything one artefact contributes; ingested in one transaction."""

    source: SourceRecord
    runs: list[RunRecord]
    published_accuracy: list[PublishedAccuracyRow] = Field(
        default_factory=list, description="triplets of models that need not be in the catalog"
    )


class IngestResult(Frozen):
    source_id: Whole = Field(description="id of the source row")
    duplicate: bool = Field(description="the artefact was already in the catalog; nothing added")
    runs: Whole = Field(ge=0, description="runs added")
    rows: Whole = Field(ge=0, description="measurement rows added")
