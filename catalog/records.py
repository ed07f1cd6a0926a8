"""What an import writes: one source (an artefact) holding runs (configurations) and their rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from advisor.vocabulary import Format, Frozen, Strategy

DecodeFlag = Literal["truncated", "suspect"]
Protocol = Literal["P1", "P2", "P3"]


class SyncRow(Frozen):
    use_case: str | None = Field(default=None, description="use case id, when it is one")
    prefill_tokens: int = Field(gt=0, description="prompt tokens per request")
    decode_tokens: int = Field(gt=0, description="output tokens per request (nominal)")
    latency_s: float | None = Field(
        default=None, gt=0, description="end-to-end latency of one request, seconds"
    )
    published_queries_per_usd: float | None = Field(default=None, gt=0, description="as printed")
    published_cost_reduction: float | None = Field(default=None, gt=0, description="as printed")
    decode_flag: DecodeFlag | None = Field(
        default=None, description="truncated: generation stopped before decode_tokens; suspect"
    )
    ttft_ms: float | None = Field(default=None, gt=0, description="time to first token, ms")
    itl_ms: float | None = Field(default=None, gt=0, description="inter-token latency, ms")
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
    prefill_tokens: int = Field(gt=0, description="prompt tokens per request")
    decode_tokens: int = Field(gt=0, description="output tokens per request (nominal)")
    max_qps: float = Field(gt=0, description="highest request rate within the limits")
    ttft_limit_ms: float | None = Field(default=None, gt=0, description="TTFT limit; None: none")
    itl_limit_ms: float | None = Field(default=None, gt=0, description="ITL limit; None: none")
    published_queries_per_usd: float | None = Field(default=None, gt=0, description="as printed")
    published_speedup: float | None = Field(default=None, gt=0, description="as printed")
    decode_flag: DecodeFlag | None = Field(default=None, description="see SyncRow.decode_flag")
    decode_reason: str | None = Field(default=None, description="see SyncRow.decode_reason")


class Distribution(Frozen):
    """Summary of one per-request metric over the successful requests."""

    mean: float | None = Field(default=None, description="mean")
    std: float | None = Field(default=None, ge=0, description="standard deviation")
    min: float | None = Field(default=None, description="minimum")
    p50: float | None = Field(default=None, description="median")
    p90: float | None = Field(default=None, description="90th percentile")
    p95: float | None = Field(default=None, description="95th percentile")
    p99: float | None = Field(default=None, description="99th percentile")
    max: float | None = Field(default=None, description="maximum")
    count: int | None = Field(default=None, ge=0, description="number of samples")


class LoadPoint(Frozen):
    """One GuideLLM sub-benchmark. Distribution units are in the keys of `stats`."""

    benchmark_index: int = Field(ge=0, description="position in the report")
    strategy: Strategy = Field(description="load strategy")
    target_rate: float | None = Field(default=None, gt=0, description="requests/s asked for")
    target_concurrency: int | None = Field(default=None, gt=0, description="streams asked for")
    achieved_rps: float | None = Field(default=None, ge=0, description="successful requests/s")
    concurrency: float | None = Field(default=None, ge=0, description="mean requests in flight")
    prompt_tokens_mean: float | None = Field(default=None, ge=0, description="prompt tokens")
    output_tokens_mean: float | None = Field(default=None, ge=0, description="output tokens")
    output_tokens_per_s: float | None = Field(default=None, ge=0, description="output tokens/s")
    successful: int = Field(ge=0, description="successful requests")
    errored: int = Field(ge=0, description="errored requests")
    incomplete: int = Field(ge=0, description="requests cut off at the end")
    duration_s: float | None = Field(default=None, ge=0, description="benchmark duration")
    started_at: datetime | None = Field(default=None, description="UTC start")
    stats: dict[str, Distribution] = Field(
        default_factory=dict, description="ttft_ms, itl_ms, tpot_ms, latency_s"
    )


class AccuracyRow(Frozen):
    suite: str = Field(min_length=1, description="benchmark suite, e.g. leaderboard_v1")
    task: str = Field(min_length=1, description="task, or 'average' for a suite average")
    metric: str = Field(min_length=1, description="metric name, e.g. acc_norm")
    filter: str = Field(default="none", description="lm-eval filter")
    n_shot: int | None = Field(default=None, ge=0, description="few-shot examples")
    run_index: int | None = Field(default=None, gt=0, description="repetition, for repeated runs")
    score: float = Field(description="score; percent when score_unit is pct")
    score_unit: str = Field(default="pct", pattern="^(pct|raw)$", description="pct or raw")
    stderr: float | None = Field(default=None, ge=0, description="standard error, same unit")
    ci95_low_delta: float | None = Field(default=None, le=0, description="95% CI below score")
    ci95_high_delta: float | None = Field(default=None, ge=0, description="95% CI above score")
    n_samples: int | None = Field(default=None, ge=0, description="documents in the task")
    n_samples_effective: int | None = Field(default=None, ge=0, description="documents scored")
    limited: bool = Field(default=False, description="a --limit run: not the whole task")
    task_version: str | None = Field(default=None, description="task version")
    protocol: Protocol | None = Field(
        default=None, description="evaluation protocol P1/P2/P3 (data/README.md); None: unstated"
    )
    published_recovery_pct: float | None = Field(default=None, description="as printed")


class SimilarityRow(Frozen):
    metric: str = Field(pattern="^(rouge1_f|rougeL_f|embedding_cosine)$", description="measure")
    score: float = Field(ge=-1, le=1, description="mean over the prompts")
    prompts: int = Field(gt=0, description="prompts answered by both models")
    baseline_format: str = Field(description="the reference, normally bf16")
    embedding_model: str | None = Field(default=None, description="for embedding_cosine")


class RunRecord(Frozen):
    label: str | None = Field(default=None, description="where in the source, e.g. table5")
    model: str = Field(description="model id or alias")
    format: Format = Field(description="quantization format")
    method: str | None = Field(default=None, description="quantization algorithm, e.g. gptq")
    gpu: str | None = Field(default=None, description="GPU id or alias")
    gpu_count: int | None = Field(default=None, gt=0, description="GPUs serving the model")
    use_case: str | None = Field(default=None, description="use case id")
    prefill_tokens: int | None = Field(default=None, gt=0, description="nominal prompt tokens")
    decode_tokens: int | None = Field(default=None, gt=0, description="nominal output tokens")
    started_at: datetime | None = Field(default=None, description="UTC start")
    engine: str | None = Field(default=None, description="serving engine, e.g. vllm")
    engine_version: str | None = Field(default=None, description="its version, e.g. 0.6.1.post2")
    args: dict[str, Any] = Field(default_factory=dict, description="tool arguments, as recorded")
    sync: list[SyncRow] = Field(default_factory=list, description="synchronous results")
    async_: list[AsyncRow] = Field(default_factory=list, description="asynchronous results")
    load_points: list[LoadPoint] = Field(default_factory=list, description="GuideLLM benchmarks")
    accuracy: list[AccuracyRow] = Field(default_factory=list, description="accuracy results")
    similarity: list[SimilarityRow] = Field(default_factory=list, description="text similarity")


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
    details: dict[str, Any] = Field(default_factory=dict, description="anything else recorded")


class PublishedAccuracyRow(Frozen):
    """One published (baseline, quantized, recovery) triplet, of any model, catalog or not."""

    model: str = Field(min_length=1, description="base model: catalog id where it is one")
    quantized_model: str = Field(min_length=1, description="the quantized checkpoint's name")
    format: Format = Field(description="quantization format")
    format_detail: str | None = Field(default=None, description="the publication's spelling")
    suite: str = Field(min_length=1, description="suite, e.g. leaderboard_v2, openllm_v1")
    task: str = Field(min_length=1, description="task, or 'average'")
    benchmark: str = Field(min_length=1, description="the benchmark label as published")
    n_shot: int | None = Field(default=None, ge=0, description="few-shot examples, if stated")
    score: float | None = Field(default=None, description="quantized score, percent")
    baseline_score: float | None = Field(default=None, description="BF16 score, percent")
    recovery_pct: float | None = Field(default=None, description="as printed")
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
    source_id: int = Field(description="id of the source row")
    duplicate: bool = Field(description="the artefact was already in the catalog; nothing added")
    runs: int = Field(ge=0, description="runs added")
    rows: int = Field(ge=0, description="measurement rows added")
