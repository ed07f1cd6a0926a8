"""The HTTP API's request and response models: the only types in its OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from advisor.search import HeadroomPct, Option, Rejected
from advisor.service import PredictRequest, Query
from advisor.vocabulary import DEFAULT_PERCENTILE, Arrivals, Mode


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceRow(ApiModel):
    gpu: str = Field(description="GPU id, e.g. h100")
    gpu_count: int = Field(default=1, gt=0, description="GPUs in the priced offer")
    usd_per_hour: float | None = Field(
        default=None, gt=0, description="price of the offer per hour"
    )
    usd_per_gpu_hour: float | None = Field(default=None, gt=0, description="or per GPU-hour")


PRICE_LIST = Field(
    default=None,
    max_length=64,
    description="a shipped price list by name (default: the default list; GET /v1/price-lists "
    "lists them)",
)
OWN_PRICES = Field(
    default=None,
    description="your prices, merged over the price list: a row replaces the list's entry of "
    "the same GPU and GPU count (with prices_only: used alone instead)",
)
PRICES_ONLY = Field(
    default=False, description="use `prices` alone instead of merging them over a shipped list"
)


class AdviceRequest(Query):
    """The query of `advise`, as JSON, with the prices to use: a shipped list (`price_list`),
    your `prices` merged over it, or with `prices_only` your prices alone."""

    # A body takes GET's names too: `gpu` and `format` (the query parameters), besides
    # gpu_types (and its old name gpus) and formats.
    gpu_types: list[str] | None = Field(
        default=None,
        validation_alias=AliasChoices("gpu_types", "gpus", "gpu"),
        description="GPU types to consider (default: every priced GPU); also `gpu`, as GET "
        "names it, or `gpus`",
    )
    formats: list[str] | None = Field(
        default=None,
        validation_alias=AliasChoices("formats", "format"),
        description="formats to consider; also `format`, as GET names it",
    )
    # GET and the command line call it headroom: a body may too.
    headroom_pct: HeadroomPct = Field(
        default=None, validation_alias=AliasChoices("headroom_pct", "headroom")
    )
    price_list: str | None = PRICE_LIST
    prices: list[PriceRow] | None = OWN_PRICES
    prices_only: bool = PRICES_ONLY


class Candidate(Option):
    """A deployment option with its predicted figures (units in the field names)."""


class Recommended(Option):
    """The winner, with the commands to serve it and to confirm the prediction."""

    checkpoint: str = Field(
        description="the checkpoint to serve: the base model (hub id or folder) for bf16, the "
        "checkpoint itself if already quantized, a published one the catalog knows, else the "
        "one quantize_command writes"
    )
    quantize_command: str | None = Field(
        default=None, description="the command that writes the checkpoint first, where needed"
    )
    vllm_serve_command: str = Field(
        description="the vLLM command that serves one replica (AMD GPUs: in the rocm/vllm image)"
    )
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
    percentile: float = Field(
        default=DEFAULT_PERCENTILE, description="percentile the limits apply to (async)"
    )
    arrivals: Arrivals = Field(default=Arrivals.POISSON, description="async arrivals")
    headroom_pct: float | None = Field(
        default=None, description="headroom the fleet was sized with, % (none: the interval's)"
    )
    defaults: list[str] = Field(default_factory=list, description="what was defaulted")
    price_list: str | None = Field(
        default=None, description="the price list used (your file's name when alone)"
    )
    price_list_description: str | None = Field(default=None, description="the list in words")
    price_list_as_of: str | None = Field(default=None, description="date of its newest price")
    price_list_source: str | None = Field(
        default=None, description="where its prices come from, by which rule"
    )
    prices_merged: str | None = Field(
        default=None, description="your prices merged over the list (their rows win), if any"
    )
    price_notes: dict[str, str] = Field(
        default_factory=dict,
        description="GPU -> what its price is, where the list's own sources do not price it "
        "(the hyperscalers' median, or an estimate)",
    )
    not_priced: list[str] = Field(
        default_factory=list,
        description="GPUs considered that have no price: their options are predicted and listed "
        "in `rejected` with reason no_price; add a row to `prices` to price them",
    )


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
    advice: AdviceResponse = Field(description="the advice for the query read from the question")


class PredictBody(ApiModel):
    configurations: list[PredictRequest] = Field(
        min_length=1, max_length=10_000, description="configurations to predict"
    )
    price_list: str | None = PRICE_LIST
    prices: list[PriceRow] | None = OWN_PRICES
    prices_only: bool = PRICES_ONLY


def _described(field: str) -> str:
    """The core's own description of an option's field."""
    return Option.model_fields[field].description or field


class Prediction(ApiModel):
    model: str = Field(description="model id")
    format: str = Field(description="quantization format")
    gpu: str = Field(description="GPU type")
    gpu_count: int = Field(description="GPUs per deployment")
    prefill_tokens: int = Field(description="prompt tokens")
    decode_tokens: int = Field(description="output tokens")
    mode: Mode = Field(description="sync or async")
    ttft_limit_ms: float | None = Field(default=None, description="TTFT limit used, ms")
    itl_limit_ms: float | None = Field(default=None, description="ITL limit used, ms")
    ttft_ms: float | None = Field(default=None, description="predicted time to first token, ms")
    itl_ms: float | None = Field(default=None, description="predicted inter-token latency, ms")
    latency_s: float | None = Field(default=None, description="predicted request latency, s")
    max_qps: float | None = Field(
        default=None, description="most requests/s within the latency limits"
    )
    usd_per_query: float | None = Field(default=None, description="cost of one request, USD")
    label: str | None = Field(default=None, description="measured, interpolated or extrapolated")
    latency_s_lo: float | None = Field(default=None, description="latency interval, low end, s")
    latency_s_hi: float | None = Field(default=None, description="latency interval, high end, s")
    latency_bound_s: float | None = Field(
        default=None, description="roofline latency: no deployment can be faster"
    )
    max_qps_lo: float | None = Field(default=None, description="max QPS interval, low end")
    max_qps_hi: float | None = Field(default=None, description="max QPS interval, high end")
    tensor_parallel_size: int | None = Field(default=None, description="tensor-parallel size")
    replicas: int | None = Field(default=None, description="data-parallel replicas per deployment")
    usd_per_hour: float | None = Field(default=None, description="price of one deployment, USD/h")
    engine_version: str | None = Field(default=None, description="vLLM version asked for")
    engine: str | None = Field(default=None, description="serving engine the figures are for")
    note: str | None = Field(default=None, description="why it could not be predicted")
    latency_limit_s: float | None = Field(default=None, description="latency limit used, s")
    percentile: float | None = Field(default=None, description="percentile of the limits")
    arrivals: str | None = Field(default=None, description="poisson or constant")
    operating_qps: float | None = Field(default=None, description=_described("operating_qps"))
    ttft_ms_lo: float | None = Field(default=None, description=_described("ttft_ms_lo"))
    ttft_ms_hi: float | None = Field(default=None, description=_described("ttft_ms_hi"))
    itl_ms_lo: float | None = Field(default=None, description=_described("itl_ms_lo"))
    itl_ms_hi: float | None = Field(default=None, description=_described("itl_ms_hi"))
    ttft_unloaded_ms: float | None = Field(default=None, description=_described("ttft_unloaded_ms"))
    itl_unloaded_ms: float | None = Field(default=None, description=_described("itl_unloaded_ms"))
    binding_constraint: str | None = Field(
        default=None, description=_described("binding_constraint")
    )
    max_qps_unconstrained: float | None = Field(
        default=None, description=_described("max_qps_unconstrained")
    )


class PredictResponse(ApiModel):
    predictions: list[Prediction] = Field(description="one per configuration, in the order given")


class ModelOut(ApiModel):
    model: str = Field(description="model id")
    hf_id: str | None = Field(description="Hugging Face id")
    family: str = Field(description="model family")
    architecture: str = Field(description="architecture class")
    params_b: float = Field(description="parameters, billions")
    layers: int = Field(description="transformer layers")
    hidden_size: int = Field(description="hidden size")
    heads: int = Field(description="attention heads")
    kv_heads: int = Field(description="key/value heads")
    head_dim: int = Field(description="head dimension")
    intermediate_size: int = Field(description="MLP intermediate size")
    vocab_size: int = Field(description="vocabulary size")
    tied_embeddings: bool = Field(description="whether input and output embeddings are shared")
    max_position_embeddings: int | None = Field(description="longest context, tokens")


class GpuOut(ApiModel):
    gpu: str = Field(description="GPU id")
    name: str = Field(description="product name")
    vendor: str = Field(description="nvidia or amd (an AMD GPU is served by vLLM on ROCm)")
    architecture: str = Field(description="GPU architecture")
    memory_gib: float = Field(description="memory, GiB")
    mem_bw_gbps: float = Field(description="memory bandwidth, GB/s")
    bf16_tflops: float = Field(description="dense BF16 TFLOPS")
    fp8_tflops: float | None = Field(description="dense FP8 TFLOPS (none: no FP8)")
    int8_tops: float | None = Field(description="dense INT8 TOPS (none: no INT8)")
    fp4_tflops: float | None = Field(description="dense FP4 TFLOPS (stored, not used)")
    interconnect_gbps: float = Field(description="GPU-to-GPU bandwidth, GB/s")
    formats: dict[str, str] = Field(
        description="format -> how vLLM runs it here: native, weight_only or no"
    )
    missing_fields: list[str] = Field(
        description="figures the hardware has that no stored source gives (left empty)"
    )
    estimated_fields: list[str] = Field(
        description="figures that are estimates (spec_source says how); predictions that rest "
        "on them are labelled extrapolated"
    )
    spec_source: str = Field(description="where the figures come from")
    usd_per_gpu_hour: float | None = Field(
        description="default price list: the single-GPU price, else the smallest offer's per GPU"
    )
    price_list: str = Field(description="the default price list")
    price_basis: str | None = Field(description="how that price was made, from what")
    price_fallback: str | None = Field(
        description="set when the list's own sources do not price the GPU: hyperscalers "
        "(their median) or nearest_gpu (an estimate)"
    )
    aliases: list[str] = Field(description="other accepted spellings")


class PriceListOut(ApiModel):
    price_list: str = Field(description="its name, as price_list and --price-list take it")
    description: str = Field(description="the list in words")
    as_of: str | None = Field(description="date of its newest price")
    source: str = Field(description="where its prices come from, by which rule")
    is_default: bool = Field(description="the list used unless one is named")
    gpus: list[str] = Field(description="the GPUs it prices")


class FormatOut(ApiModel):
    format: str = Field(description="format id")
    aliases: list[str] = Field(description="other accepted spellings")
    compute_type: str = Field(description="math the kernels run in")
    needs: str = Field(description="what the GPU must support")


class UseCaseOut(ApiModel):
    use_case: str = Field(description="use case id")
    name: str = Field(description="name in words")
    kind: str = Field(description="kind of workload")
    prefill_tokens: int = Field(description="prompt tokens")
    decode_tokens: int = Field(description="output tokens")
    ttft_limit_ms: float | None = Field(description="TTFT limit, ms")
    itl_limit_ms: float | None = Field(description="ITL limit, ms")


class MeasurementPage(ApiModel):
    kind: str = Field(description="sync, async, accuracy or load_points")
    total: int = Field(description="rows matching the filters")
    limit: int = Field(description="most rows in this page")
    offset: int = Field(description="rows skipped before this page")
    items: list[dict[str, Any]] = Field(description="the rows")


class ImportResult(ApiModel):
    file: str = Field(description="the uploaded file's name, made safe")
    source_id: int = Field(description="catalog id of the imported file")
    duplicate: bool = Field(description="whether the same file was already imported")
    runs: int = Field(description="runs written")
    rows: int = Field(description="rows written")


class Source(ApiModel):
    """Where rows of the catalog come from: an embedded table or card, or one import."""

    id: int = Field(description="source id; DELETE /v1/catalog/sources/{id} removes an import")
    kind: str = Field(description="study, card, guidellm, lm-eval, measurements or profiler")
    name: str = Field(description="the source's name (file name and short hash for imports)")
    file: str = Field(description="the file's name, upload:NAME, or the card's URL")
    sha256: str = Field(description="SHA-256 of the file's content")
    tool: str | None = Field(description="tool that wrote the file")
    imported_at: datetime = Field(description="when it was imported (UTC)")
    runs: int = Field(description="runs it holds")
    rows: int = Field(description="measurement rows it holds")
    removable: bool = Field(description="false for the embedded study tables and model cards")


class Health(ApiModel):
    status: str = Field(description="ok, ready, or why not ready")
    catalog: str | None = Field(default=None, description="catalog file")
    rows: dict[str, int] | None = Field(default=None, description="rows per catalog table")
    skipped: list[str] = Field(
        default_factory=list,
        description="catalog rows the advisor skipped because they break its constraints "
        "(part: row: reason), at most 20; the answers are made without them",
    )


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    status: int = Field(description="HTTP status")
    type: str | None = Field(default=None, description="URI naming the kind of problem")
    title: str | None = Field(default=None, description="the kind of problem, in words")
    detail: str = Field(description="what was wrong and what is accepted")
