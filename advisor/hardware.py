"""GPUs, prices and the configurations the search enumerates (pure data, no I/O)."""

from __future__ import annotations

import math

from pydantic import Field

from advisor.architecture import Architecture
from advisor.errors import InvalidInputError
from advisor.vocabulary import FORMAT_COMPUTE, ComputeType, Format, Frozen

# Serving-memory budget: weights plus KV cache must fit in gpu_count x memory x this.
MEMORY_UTILISATION = 0.9
# Per-GPU bandwidth between nodes when a deployment spans several (400 Gb/s InfiniBand/RoCE).
INTER_NODE_GBPS = 50.0
GPU_COUNTS = (1, 2, 4, 8, 16)


class Gpu(Frozen):
    gpu: str = Field(description="GPU id")
    name: str = Field(description="marketing name")
    vendor: str = Field(
        default="nvidia", description="nvidia or amd (an AMD GPU is served by vLLM on ROCm)"
    )
    architecture: str = Field(description="ampere, ada, hopper, blackwell, ...")
    memory_gib: float = Field(gt=0, description="memory per GPU, GiB")
    mem_bw_gbps: float = Field(gt=0, description="memory bandwidth, GB/s")
    bf16_tflops: float = Field(gt=0, description="dense BF16 tensor TFLOP/s")
    fp8_tflops: float | None = Field(default=None, gt=0, description="dense FP8 TFLOP/s")
    int8_tops: float | None = Field(default=None, gt=0, description="dense INT8 TOP/s")
    interconnect_gbps: float = Field(gt=0, description="GPU-to-GPU bandwidth in a node, GB/s")
    nodes_of: int = Field(default=8, gt=0, description="GPUs per node")

    def peak_tflops(self, compute: ComputeType) -> float | None:
        return {
            ComputeType.BF16: self.bf16_tflops,
            ComputeType.FP8: self.fp8_tflops,
            ComputeType.INT8: self.int8_tops,
        }[compute]

    def peak_for(self, fmt: Format) -> float | None:
        """The dense tensor rate `fmt` computes at on this GPU (None: it does not run here)."""
        return self.peak_tflops(FORMAT_COMPUTE[fmt])

    def supports(self, fmt: Format) -> bool:
        """FP8 needs FP8 tensor cores (Ada, Hopper and later); INT8 needs INT8 ones."""
        return self.peak_for(fmt) is not None


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


class PriceEntry(Frozen):
    gpu: str = Field(description="GPU id")
    gpu_count: int = Field(gt=0, description="GPUs in the priced offer")
    usd_per_hour: float = Field(gt=0, description="price of the whole offer per hour")


class PriceList(Frozen):
    name: str = Field(description="price list id")
    entries: list[PriceEntry] = Field(description="offers as listed")

    def usd_per_hour(self, gpu: str, count: int) -> float | None:
        """The listed price, else pro rata to the nearest listed count (ties: larger node)."""
        listed = [e for e in self.entries if e.gpu == gpu]
        if not listed:
            return None
        nearest = min(listed, key=lambda e: (abs(math.log(count / e.gpu_count)), -e.gpu_count))
        return nearest.usd_per_hour * count / nearest.gpu_count

    def gpus(self) -> list[str]:
        return sorted({e.gpu for e in self.entries})


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
