"""What a plan's cells ask a Ray cluster for: GPUs, the GPU type's label, whole nodes for a cell
wider than one; and the dry run that shows each request beside its commands. Pure: no Ray."""

from __future__ import annotations

import json

from pydantic import Field

from advisor.errors import InvalidInputError
from advisor.vocabulary import Format, Frozen
from profiler.plan import PlanRunner


class ResourceRequest(Frozen):
    """What a cell's task asks Ray for: its GPUs on one node, or a placement group of whole
    nodes for a cell wider than one node."""

    num_cpus: int = Field(default=1, ge=0)
    num_gpus: int = Field(ge=0, description="GPUs of the task itself (its node's share)")
    resources: dict[str, int] = Field(description="custom resources: the GPU type's label")
    bundles: list[dict[str, int]] | None = Field(
        default=None, description="placement group bundles, one per node"
    )
    strategy: str | None = Field(default=None, description="placement group strategy")

    def describe(self) -> str:
        return json.dumps(self.model_dump(exclude_none=True), separators=(", ", ": "))


def gpu_resource(gpu: str) -> str:
    """The custom resource a node of this GPU type offers (`ray start --resources`)."""
    return f"gpu_{gpu}"


def cell_request(gpu: str, gpu_count: int, node_gpus: int | None = None) -> ResourceRequest:
    """`node_gpus`: most GPUs of the type on one node (None: not known, one node assumed)."""
    label = gpu_resource(gpu)
    if node_gpus is None or gpu_count <= node_gpus:
        return ResourceRequest(num_gpus=gpu_count, resources={label: gpu_count})
    nodes, rest = divmod(gpu_count, node_gpus)
    if rest:
        raise InvalidInputError(
            f"{gpu_count} {gpu} GPUs do not split over nodes of {node_gpus}; "
            f"accepted: at most {node_gpus}, or a multiple of it"
        )
    share = {"GPU": node_gpus, label: node_gpus}
    return ResourceRequest(
        num_gpus=node_gpus,
        resources={label: node_gpus},
        bundles=[{"CPU": 1, **share}] + [share] * (nodes - 1),
        strategy="STRICT_SPREAD",
    )


def quantize_request(gpu: str) -> ResourceRequest:
    return ResourceRequest(num_gpus=1, resources={gpu_resource(gpu): 1})


def task_name(kind: str, model: str, fmt: Format, gpu: str, gpu_count: int) -> str:
    """Names the dashboard shows: what the task measures and on which GPUs."""
    return f"{kind} {model} {fmt.value} {gpu_count}x{gpu}"


def dry_run_lines(runner: PlanRunner) -> list[str | list[str]]:
    """The dry run with each cell's resource request (a comment line) before its commands;
    each quantize step once, with its own request."""
    gpu = runner.plan.gpu
    lines: list[str | list[str]] = []
    quantized: set[tuple[str, Format]] = set()
    for cell, quantize, commands in runner.dry_run_cells():
        if quantize is not None and (cell.model.name, cell.format) not in quantized:
            quantized.add((cell.model.name, cell.format))
            name = task_name("quantize", cell.model.name, cell.format, gpu, 1)
            lines += [f"# {name}: {quantize_request(gpu).describe()}", quantize]
        name = task_name("cell", cell.model.name, cell.format, gpu, cell.gpu_count)
        lines.append(f"# {name}: {cell_request(gpu, cell.gpu_count).describe()}")
        lines.extend(commands)
    return lines
