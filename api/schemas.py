"""The HTTP API's request and response models: the only types in its OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from advisor.search import Option, Rejected
from advisor.service import PredictRequest, Query
from advisor.vocabulary import Mode


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceRow(ApiModel):
    gpu: str = Field(description="GPU id, e.g. h100")
    gpu_count: int = Field(default=1, gt=0, description="GPUs in the priced offer")
    usd_per_hour: float | None = Field(
        default=None, gt=0, description="price of the offer per hour"
    )
    usd_per_gpu_hour: float | None = Field(default=None, gt=0, description="or per GPU-hour")


class AdviceRequest(Query):
    """The query of `advise`, as JSON; `prices` replaces the default price list."""

    prices: list[PriceRow] | None = Field(default=None, description="price list to use instead")


class Candidate(Option):
    """A deployment option with its predicted figures (units in the field names)."""


class Recommended(Option):
    """The winner, with the commands to serve it and to confirm the prediction."""

    checkpoint: str = Field(description="quantized checkpoint, in the study's naming")
    vllm_serve_command: str = Field(description="the vLLM command that serves it")
    guidellm_command: str = Field(description="the GuideLLM command that would confirm it")


class RejectedCandidate(Rejected):
    """A ruled-out option: `reason` (memory, unsupported, no_price, ttft, itl, latency, accuracy,
    throughput) and `detail` say why, `excess_pct` by how much."""


class AdviceQuery(BaseModel):
    """The query as understood: every field of the request, resolved, with the defaults."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="model id")
    prefill_tokens: int = Field(gt=0, description="prompt tokens")
    decode_tokens: int = Field(gt=0, description="output tokens")
    mode: Mode = Field(description="sync or async")
    suite: str = Field(description="suite of the accuracy floor")
    ttft_ms: float | None = Field(default=None, gt=0, description="TTFT limit")
    itl_ms: float | None = Field(default=None, gt=0, description="ITL limit")
    latency_s: float | None = Field(default=None, gt=0, description="latency limit")
    min_recovery_pct: float | None = Field(default=None, gt=0, description="accuracy floor")
    qps: float | None = Field(default=None, gt=0, description="target load")
    defaults: list[str] = Field(default_factory=list, description="what was defaulted")


class AdviceResponse(ApiModel):
    query: AdviceQuery = Field(description="the query as understood, with defaults filled in")
    recommendation: Recommended | None = Field(
        description="the cheapest option meeting every target; null when nothing meets them"
    )
    alternatives: list[Candidate] = Field(description="other feasible options, cheapest first")
    rejected: list[RejectedCandidate] = Field(description="every ruled-out option, cheapest first")
    closest_misses: list[RejectedCandidate] = Field(description="when nothing meets the targets")
    message: str = Field(description="the answer in one line")


class AskResponse(ApiModel):
    question: str = Field(description="the question as asked")
    understood: dict[str, Any] = Field(description="the structured query read from it")
    defaulted: list[str] = Field(description="parts the question did not say, and their values")
    advice: AdviceResponse


class PredictBody(ApiModel):
    configurations: list[PredictRequest] = Field(
        min_length=1, max_length=10_000, description="configurations to predict"
    )
    prices: list[PriceRow] | None = Field(default=None, description="price list to use instead")


class Prediction(ApiModel):
    model: str
    format: str
    gpu: str
    gpu_count: int
    prefill_tokens: int
    decode_tokens: int
    mode: Mode
    ttft_limit_ms: float | None = None
    itl_limit_ms: float | None = None
    ttft_ms: float | None = None
    itl_ms: float | None = None
    latency_s: float | None = None
    max_qps: float | None = None
    usd_per_query: float | None = None
    label: str | None = None
    latency_s_lo: float | None = None
    latency_s_hi: float | None = None
    latency_bound_s: float | None = None
    max_qps_lo: float | None = None
    max_qps_hi: float | None = None
    tensor_parallel_size: int | None = None
    replicas: int | None = None
    usd_per_hour: float | None = None
    note: str | None = Field(default=None, description="why it could not be predicted")


class PredictResponse(ApiModel):
    predictions: list[Prediction]


class ModelOut(ApiModel):
    model: str
    hf_id: str | None
    family: str
    architecture: str
    params_b: float
    layers: int
    hidden_size: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tied_embeddings: bool
    max_position_embeddings: int | None


class GpuOut(ApiModel):
    gpu: str
    name: str
    architecture: str
    memory_gib: float
    mem_bw_gbps: float
    bf16_tflops: float
    fp8_tflops: float | None
    int8_tops: float | None
    interconnect_gbps: float
    usd_per_gpu_hour: float | None = Field(description="default price list, 1-GPU equivalent")
    aliases: list[str]


class FormatOut(ApiModel):
    format: str
    aliases: list[str]
    compute_type: str
    needs: str


class UseCaseOut(ApiModel):
    use_case: str
    name: str
    kind: str
    prefill_tokens: int
    decode_tokens: int
    ttft_limit_ms: float | None
    itl_limit_ms: float | None


class MeasurementPage(ApiModel):
    kind: str = Field(description="sync, async, accuracy or load_points")
    total: int = Field(description="rows matching the filters")
    limit: int
    offset: int
    items: list[dict[str, Any]]


class ImportResult(ApiModel):
    file: str
    source_id: int
    duplicate: bool
    runs: int
    rows: int


class Health(ApiModel):
    status: str
    catalog: str | None = None
    rows: dict[str, int] | None = None


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    status: int = Field(description="HTTP status")
    type: str | None = Field(default=None, description="URI naming the kind of problem")
    title: str | None = Field(default=None, description="the kind of problem, in words")
    detail: str = Field(description="what was wrong and what is accepted")
