"""One vocabulary: the closed sets of the domain and the base of every domain model."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AliasChoices, BaseModel, ConfigDict

from advisor.errors import UnknownNameError


class Frozen(BaseModel):
    """Base of every domain value: immutable, and unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def renamed(new: str, old: str) -> AliasChoices:
    """Accept a field under its new name and, for one release, under its old one."""
    return AliasChoices(new, old)


class Format(StrEnum):
    """Quantization format of a served checkpoint."""

    BF16 = "bf16"
    FP8 = "fp8"  # W8A8-FP: FP8 weights and dynamic per-token FP8 activations
    INT8 = "int8"  # W8A8-INT: INT8 weights and dynamic per-token INT8 activations
    INT4 = "int4"  # W4A16-INT: INT4 weights in groups of 128, BF16 activations


class ComputeType(StrEnum):
    """The tensor-core type a format's matrix multiplications run in."""

    BF16 = "bf16"
    FP8 = "fp8"
    INT8 = "int8"


class Support(StrEnum):
    """How vLLM runs a format on a GPU architecture."""

    NATIVE = "native"  # as the format is defined
    WEIGHT_ONLY = "weight_only"  # weights in the format, BF16 math (FP8 on Ampere: W8A16)
    NO = "no"  # not at all


class UseCaseKind(StrEnum):
    LATENCY = "latency"
    THROUGHPUT = "throughput"


class Mode(StrEnum):
    SYNC = "sync"
    ASYNC = "async"


class Arrivals(StrEnum):
    """How requests arrive in an asynchronous deployment (GuideLLM's constant and poisson)."""

    POISSON = "poisson"
    CONSTANT = "constant"


class Binding(StrEnum):
    """What sets an asynchronous deployment's max QPS."""

    TTFT = "ttft"
    ITL = "itl"
    LATENCY = "latency"
    KV_CACHE = "kv_cache"
    COMPUTE = "compute"


# The latency percentiles GuideLLM reports and the catalog keeps (load_points' *_p50 ... _p99).
PERCENTILES = (50.0, 90.0, 95.0, 99.0)
DEFAULT_PERCENTILE = 99.0


class Strategy(StrEnum):
    """GuideLLM load strategies, as its reports name them."""

    SYNCHRONOUS = "synchronous"
    CONCURRENT = "concurrent"
    CONSTANT = "constant"
    POISSON = "poisson"
    THROUGHPUT = "throughput"
    ASYNC = "async"


class Label(StrEnum):
    """How a figure was obtained."""

    MEASURED = "measured"
    INTERPOLATED = "interpolated"
    EXTRAPOLATED = "extrapolated"


# The study's spellings and the names quantization tools use, all lower-case.
FORMAT_ALIASES: dict[str, Format] = {
    "bf16": Format.BF16,
    "bfloat16": Format.BF16,
    "w16a16": Format.BF16,
    "baseline": Format.BF16,
    "fp8": Format.FP8,
    "w8a8-fp": Format.FP8,
    "w8a8-fp8": Format.FP8,
    "w8a8_fp8": Format.FP8,
    "fp8_dynamic": Format.FP8,
    "fp8-dynamic": Format.FP8,
    "int8": Format.INT8,
    "w8a8-int": Format.INT8,
    "w8a8-int8": Format.INT8,
    "w8a8": Format.INT8,
    "int4": Format.INT4,
    "w4a16-int": Format.INT4,
    "w4a16": Format.INT4,
    "int4-gptq": Format.INT4,
}

FORMAT_COMPUTE: dict[Format, ComputeType] = {
    Format.BF16: ComputeType.BF16,
    Format.FP8: ComputeType.FP8,
    Format.INT8: ComputeType.INT8,
    Format.INT4: ComputeType.BF16,
}


def parse_format(value: str) -> Format:
    """Resolve a format name or one of its aliases (the study's `W8A8-FP`, `W4A16-INT`, ...)."""
    found = FORMAT_ALIASES.get(value.strip().lower())
    if found is None:
        raise UnknownNameError(
            "format",
            value,
            [f.value for f in Format],
            "The study's spellings (W8A8-FP, W8A8-INT, W4A16-INT) are accepted too",
            {k: v.value for k, v in FORMAT_ALIASES.items()},
        )
    return found


def format_from_name(name: str) -> Format | None:
    """Guess the format from a checkpoint name in the study's naming, or None.

    `...-FP8`, `...-FP8-dynamic` -> fp8; `...quantized.w8a8` -> int8; `...quantized.w4a16` -> int4.
    """
    lowered = name.lower().replace("_", "-")
    if "w4a16" in lowered or "int4" in lowered or "gptq" in lowered or "awq" in lowered:
        return Format.INT4
    if "fp8" in lowered or "w8a8-fp" in lowered:
        return Format.FP8
    if "w8a8" in lowered or "int8" in lowered:
        return Format.INT8
    if "bf16" in lowered:
        return Format.BF16
    return None
