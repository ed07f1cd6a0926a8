"""GPUs, prices and the configurations the search enumerates (pure data, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import Field, field_validator

from advisor.architecture import Architecture
from advisor.errors import InvalidInputError
from advisor.vocabulary import FORMAT_COMPUTE, ComputeType, Format, Frozen, Support

# Serving-memory budget: weights plus KV cache must fit in gpu_count x memory x this.
MEMORY_UTILISATION = 0.9
# Per-GPU bandwidth between nodes when a deployment spans several (400 Gb/s InfiniBand/RoCE).
INTER_NODE_GBPS = 50.0
GPU_COUNTS = (1, 2, 4, 8, 16)


# The figures of a GPU, as `missing_fields` and `estimated_fields` name them.
FIGURES = (
    "memory_gib",
    "mem_bw_gbps",
    "bf16_tflops",
    "fp8_tflops",
    "int8_tops",
    "fp4_tflops",
    "interconnect_gbps",
)
COMPUTE_FIELD = {
    ComputeType.BF16: "bf16_tflops",
    ComputeType.FP8: "fp8_tflops",
    ComputeType.INT8: "int8_tops",
}


class FormatSupport(Frozen):
    """How vLLM runs one format on one GPU architecture (its documentation's table)."""

    format: Format = Field(description="quantization format")
    support: Support = Field(description="native, weight_only or no")
    note: str = Field(default="", description="what runs, or why not")
    source: str = Field(default="", description="where this is stated")


class Gpu(Frozen):
    gpu: str = Field(description="GPU id")
    name: str = Field(description="marketing name")
    vendor: str = Field(
        default="nvidia", description="nvidia or amd (an AMD GPU is served by vLLM on ROCm)"
    )
    architecture: str = Field(description="ampere, ada, hopper, blackwell, cdna3, ...")
    memory_gib: float = Field(gt=0, description="memory per GPU, GiB")
    mem_bw_gbps: float = Field(gt=0, description="memory bandwidth, GB/s")
    bf16_tflops: float = Field(gt=0, description="dense BF16 tensor TFLOP/s")
    fp8_tflops: float | None = Field(default=None, gt=0, description="dense FP8 TFLOP/s")
    int8_tops: float | None = Field(default=None, gt=0, description="dense INT8 TOP/s")
    fp4_tflops: float | None = Field(
        default=None, gt=0, description="dense FP4 TFLOP/s (stored; no format computes in it)"
    )
    interconnect_gbps: float = Field(gt=0, description="GPU-to-GPU bandwidth in a node, GB/s")
    nodes_of: int = Field(default=8, gt=0, description="GPUs per node (per NVLink domain)")
    # Tuples, not lists or dicts: a Gpu is hashed (the latency model memoises its shapes).
    formats: tuple[FormatSupport, ...] = Field(
        default=(),
        description="how vLLM runs each format on this architecture; one not listed does not run",
    )
    missing_fields: tuple[str, ...] = Field(
        default=(), description="figures the hardware has that no stored source gives"
    )
    estimated_fields: tuple[str, ...] = Field(
        default=(), description="figures that are estimates (the source says how)"
    )
    source: str = Field(default="", description="where the figures come from")

    @field_validator("missing_fields", "estimated_fields")
    @classmethod
    def _figures(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [n for n in names if n not in FIGURES]
        if unknown:
            raise ValueError(
                f"not GPU figures: {', '.join(unknown)} (figures: {', '.join(FIGURES)})"
            )
        return names

    def peak_tflops(self, compute: ComputeType) -> float | None:
        return {
            ComputeType.BF16: self.bf16_tflops,
            ComputeType.FP8: self.fp8_tflops,
            ComputeType.INT8: self.int8_tops,
        }[compute]

    def support_for(self, fmt: Format) -> FormatSupport:
        for listed in self.formats:
            if listed.format is fmt:
                return listed
        return FormatSupport(
            format=fmt,
            support=Support.NO,
            note=f"vLLM's table does not list {self.vendor} {self.architecture}",
        )

    def compute_for(self, fmt: Format) -> ComputeType | None:
        """The tensor cores `fmt`'s matrix multiplications use here (None: it does not run):
        its own, or BF16 where it runs weight-only."""
        support = self.support_for(fmt).support
        if support is Support.NO:
            return None
        return ComputeType.BF16 if support is Support.WEIGHT_ONLY else FORMAT_COMPUTE[fmt]

    def peak_for(self, fmt: Format) -> float | None:
        """The dense tensor rate `fmt` computes at on this GPU (None: it does not run here)."""
        compute = self.compute_for(fmt)
        return None if compute is None else self.peak_tflops(compute)

    def supports(self, fmt: Format) -> bool:
        """vLLM runs `fmt` here and the catalog has the rate it computes at."""
        return self.peak_for(fmt) is not None

    def runs_weight_only(self, fmt: Format) -> bool:
        """The weights are in `fmt` but the math is BF16 (FP8 on Ampere, W8A16 through Marlin)."""
        return self.support_for(fmt).support is Support.WEIGHT_ONLY

    def unsupported_reason(self, fmt: Format) -> str | None:
        """Why `fmt` cannot be evaluated here, or None."""
        support = self.support_for(fmt)
        compute = self.compute_for(fmt)
        if compute is None:
            return (
                f"vLLM does not run {fmt.value} on {self.gpu} ({self.architecture}): {support.note}"
            )
        if self.peak_tflops(compute) is None:
            return (
                f"the catalog has no {compute.value.upper()} rate for {self.gpu} "
                f"({COMPUTE_FIELD[compute]} is missing)"
            )
        return None

    def estimated_for(self, fmt: Format, count: int) -> list[str]:
        """The estimated figures a prediction of `fmt` on `count` of these GPUs rests on."""
        compute = self.compute_for(fmt)
        used = {"memory_gib", "mem_bw_gbps"}
        if compute is not None:
            used.add(COMPUTE_FIELD[compute])
        if count > 1:
            used.add("interconnect_gbps")
        return [f for f in self.estimated_fields if f in used]

    def extrapolates(self, fmt: Format, count: int) -> bool:
        """No measurement can back a prediction here: the kernel path is weight-only (none of
        the catalog's measurements ran it) or a figure it rests on is an estimate."""
        return self.runs_weight_only(fmt) or bool(self.estimated_for(fmt, count))


class ModelSpec(Frozen):
    model: str = Field(description="model id in the catalog (or a config.json path)")
    hf_id: str | None = Field(default=None, description="Hugging Face id")
    arch: Architecture = Field(description="architecture")
    local_path: str | None = Field(
        default=None,
        description="the model folder on this machine, for a model given as a path: its "
        "checkpoints are served from there, and quantized ones written beside it",
    )
    quantized: Format | None = Field(
        default=None, description="the format an already-quantized checkpoint is in"
    )


# What a price that is not the list's own sources' says it is instead (prices.csv `fallback`).
FALLBACKS = {
    "hyperscalers": "the hyperscalers' median (no specialised cloud lists it)",
    "nearest_gpu": "an estimate: nobody lists it, priced as the nearest GPU of its vendor",
}


class PriceEntry(Frozen):
    gpu: str = Field(description="GPU id")
    gpu_count: int = Field(gt=0, description="GPUs in the priced offer")
    usd_per_hour: float = Field(gt=0, description="price of the whole offer per hour")
    provider: str | None = Field(default=None, description="the provider, when it is one's")
    sku: str | None = Field(default=None, description="the provider's name for the offer")
    basis: str | None = Field(default=None, description="how the price was made, from what")
    fallback: str | None = Field(
        default=None,
        description="set when the list's own sources do not price this GPU: "
        + "; ".join(f"{k}: {v}" for k, v in FALLBACKS.items()),
    )


class PriceList(Frozen):
    name: str = Field(description="price list id")
    entries: list[PriceEntry] = Field(description="offers as listed")
    description: str = Field(default="", description="the list in a few words")
    source: str = Field(default="", description="where its prices come from, by which rule")
    as_of: date | None = Field(default=None, description="date of its newest price")
    is_default: bool = Field(default=False, description="the list used unless one is named")
    merged: str | None = Field(
        default=None, description="your price file merged over it (its rows win), if any"
    )

    def entry_for(self, gpu: str, count: int) -> PriceEntry | None:
        """The entry `count` GPUs are priced from: the listed count, else the nearest listed
        count by ratio (ties: the larger node)."""
        listed = [e for e in self.entries if e.gpu == gpu]
        if not listed:
            return None
        return min(listed, key=lambda e: (abs(math.log(count / e.gpu_count)), -e.gpu_count))

    def usd_per_hour(self, gpu: str, count: int) -> float | None:
        """The listed price, else pro rata to the nearest listed count (ties: larger node)."""
        nearest = self.entry_for(gpu, count)
        return None if nearest is None else nearest.usd_per_hour * count / nearest.gpu_count

    def gpus(self, estimated: bool = True) -> list[str]:
        """The GPUs it prices; without `estimated`, only those with a price someone lists."""
        return sorted({e.gpu for e in self.entries if estimated or e.fallback != "nearest_gpu"})

    def merged_with(self, own: PriceList) -> PriceList:
        """This list with `own` over it: an own row replaces the entry of the same GPU and count;
        the list's other entries stay, node prices apart from single-GPU ones."""
        mine = {(e.gpu, e.gpu_count) for e in own.entries}
        kept = [e for e in self.entries if (e.gpu, e.gpu_count) not in mine]
        return self.model_copy(update={"entries": kept + own.entries, "merged": own.name})

    def fallback_notes(self, gpus: Sequence[str]) -> dict[str, str]:
        """What the price is of each of `gpus` that a fallback prices."""
        notes = {}
        for gpu in gpus:
            kinds = sorted({e.fallback for e in self.entries if e.gpu == gpu and e.fallback})
            if kinds:
                notes[gpu] = "; ".join(FALLBACKS.get(kind, kind) for kind in kinds)
        return notes

    def document(self) -> dict[str, Any]:
        """The list as an answer names it."""
        return {
            "price_list": self.name,
            "price_list_description": self.description or None,
            "price_list_as_of": self.as_of.isoformat() if self.as_of else None,
            "price_list_source": self.source or None,
            "prices_merged": self.merged,
        }


def parse_price_rows(rows: list[dict[str, object]], name: str) -> PriceList:
    """Price rows from a user file: gpu, gpu_count (default 1), and usd_per_hour or
    usd_per_gpu_hour."""
    entries = []
    for index, row in enumerate(rows, start=1):
        try:
            gpu = str(row["gpu"]).strip().lower()
            count = int(str(row.get("gpu_count") or 1))
            if row.get("usd_per_hour") not in (None, ""):
                usd = float(str(row["usd_per_hour"]))
            elif row.get("usd_per_gpu_hour") not in (None, ""):
                usd = float(str(row["usd_per_gpu_hour"])) * count
            else:
                raise KeyError("usd_per_hour")
            entries.append(PriceEntry(gpu=gpu, gpu_count=count, usd_per_hour=usd))
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"{name}: price row {index} is not valid ({exc}); each row needs gpu, "
                "gpu_count (optional, default 1) and usd_per_hour or usd_per_gpu_hour > 0"
            ) from exc
    if not entries:
        raise InvalidInputError(f"{name}: no prices found")
    return PriceList(name=name, entries=entries)
