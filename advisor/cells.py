"""The values the performance models take and give: one configuration to predict, and its
synchronous and asynchronous predictions."""

from __future__ import annotations

from pydantic import Field

from advisor.hardware import Gpu, ModelSpec
from advisor.vocabulary import Format, Frozen, Label


class Cell(Frozen):
    """One configuration to predict."""

    model: ModelSpec
    format: Format
    gpu: Gpu
    gpu_count: int = Field(gt=0)
    prefill_tokens: int = Field(gt=0)
    decode_tokens: int = Field(gt=0)
    engine: str | None = Field(
        default=None, description="serving engine and version, e.g. 'vllm 0.7.2' (default: newest)"
    )


class SyncPrediction(Frozen):
    ttft_ms: float = Field(description="time to first token, one request alone")
    itl_ms: float = Field(description="inter-token latency, one request alone")
    latency_s: float = Field(description="end-to-end latency")
    latency_s_lo: float = Field(description="80% interval, low")
    latency_s_hi: float = Field(description="80% interval, high")
    latency_bound_s: float = Field(description="roofline: no deployment can be faster")
    overhead_s: float = Field(description="per-request cost outside TTFT and ITL")
    engine: str = Field(description="the serving engine the prediction is for")
    label: Label


class AsyncPrediction(Frozen):
    max_qps: float = Field(description="highest request rate within the TTFT/ITL limits")
    max_qps_lo: float = Field(description="80% interval, low")
    max_qps_hi: float = Field(description="80% interval, high")
    max_qps_unconstrained: float = Field(description="highest request rate without limits")
    tensor_parallel_size: int = Field(description="GPUs per replica in the best arrangement")
    replicas: int = Field(description="replicas in the GPU budget")
    label: Label
