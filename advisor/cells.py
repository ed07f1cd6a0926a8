"""The values the performance models take and give: one configuration to predict, and its
synchronous and asynchronous predictions."""

from __future__ import annotations

from pydantic import Field

from advisor.hardware import Gpu, ModelSpec
from advisor.latency import Shape
from advisor.vocabulary import Binding, Format, Frozen, Label


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


class SetAside(Frozen):
    """A measurement of the very configuration and shape asked for that the catalog's hygiene
    set aside (its generation stopped early): never fitted on, nor shown as measured; an
    answer shows it beside the prediction, and why."""

    latency_s: float = Field(gt=0, description="the measured end-to-end latency, s")
    decode_flag: str = Field(description="the hygiene flag: truncated or suspect")
    reason: str = Field(description="why it was set aside: the rule and its numbers")
    source: str = Field(description="where the measurement comes from")
    engine: str = Field(description="the engine it was measured on")


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
    set_aside: SetAside | None = Field(
        default=None, description="a measurement of this cell that hygiene set aside"
    )


class AsyncPrediction(Frozen):
    """A deployment under continuous batching: its capacity within the limits, and its figures
    at the operating point (at the limits' percentile)."""

    max_qps: float = Field(description="highest request rate within the limits, per deployment")
    max_qps_lo: float = Field(description="80% interval, low")
    max_qps_hi: float = Field(description="80% interval, high")
    max_qps_unconstrained: float = Field(description="highest request rate without limits")
    binding_constraint: Binding | None = Field(description="what sets max_qps")
    tensor_parallel_size: int = Field(description="GPUs per replica in the best arrangement")
    replicas: int = Field(description="replicas in the GPU budget")
    operating_qps: float = Field(description="the rate per deployment the figures are for")
    ttft_ms: float | None = Field(description="TTFT at the operating point, ms")
    ttft_ms_lo: float | None = Field(description="80% interval, low")
    ttft_ms_hi: float | None = Field(description="80% interval, high (None: may not keep up)")
    itl_ms: float | None = Field(description="ITL at the operating point, ms")
    itl_ms_lo: float | None = Field(description="80% interval, low")
    itl_ms_hi: float | None = Field(description="80% interval, high (None: may not keep up)")
    latency_s: float | None = Field(description="end-to-end latency at the operating point, s")
    latency_s_lo: float | None = Field(description="80% interval, low")
    latency_s_hi: float | None = Field(description="80% interval, high (None: may not keep up)")
    deployments: int | None = Field(default=None, description="copies for the target load")
    meets_limits_probability: float | None = Field(
        default=None, description="chance the deployments meet the limits at the target load"
    )
    label: Label


def shape_of(cell: Cell, tp: int, engine: str) -> Shape:
    return Shape(
        model=cell.model,
        format=cell.format,
        gpu=cell.gpu,
        tp=tp,
        prefill_tokens=cell.prefill_tokens,
        decode_tokens=cell.decode_tokens,
        engine=engine,
    )
