"""GuideLLM reports (JSON or YAML) -> one load point per sub-benchmark.

Three layouts are read: the current one (`metadata.version == 2`, GuideLLM 0.7-0.8,
configuration under `config.spec`), the one before it (top-level `args`; `metadata.version == 1`
in GuideLLM 0.5-0.6, no metadata in 0.4), and the first (GuideLLM 0.2-0.3: nothing but
`benchmarks`, each with its own `args`, `worker` and `request_loader`, labels as `extras`).
Metrics are the same shape in all: distributions under `metrics.<name>.successful`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from advisor.errors import ImportRejectedError, MissingFieldError
from advisor.vocabulary import Frozen, Strategy, format_from_name, parse_format
from catalog.importers.common import (
    ImportOptions,
    dig,
    guarded,
    read_document,
    rejected_validation,
    sha256,
    utc_time,
)
from catalog.records import Batch, Distribution, LoadPoint, RunRecord, SourceRecord

# GuideLLM metric -> (catalog distribution, scale to the catalog's unit)
DISTRIBUTIONS = {
    "time_to_first_token_ms": ("ttft_ms", 1.0),
    "inter_token_latency_ms": ("itl_ms", 1.0),
    "time_per_output_token_ms": ("tpot_ms", 1.0),
    "request_latency": ("latency_s", 1.0),  # GuideLLM reports request latency in seconds
}
SUPPORTED = (
    "GuideLLM 0.7-0.8 (metadata.version 2), 0.4-0.6 (metadata.version 1, top-level args) "
    "or 0.2-0.3 (per-benchmark args, worker and request_loader)"
)
FIRST_LAYOUT_VERSION = "0.2-0.3 (not recorded)"


def _distribution(metrics: dict[str, Any], name: str, scale: float) -> Distribution | None:
    d = dig(metrics, name, "successful")
    if not isinstance(d, dict) or not d.get("count"):
        return None
    pct = d.get("percentiles") or {}

    def scaled(value: Any) -> float | None:
        return None if value is None else float(value) * scale

    return Distribution(
        mean=scaled(d.get("mean")),
        std=scaled(d.get("std_dev")),
        min=scaled(d.get("min")),
        p50=scaled(pct.get("p50", d.get("median"))),
        p90=scaled(pct.get("p90")),
        p95=scaled(pct.get("p95")),
        p99=scaled(pct.get("p99")),
        max=scaled(d.get("max")),
        count=int(d["count"]),
    )


def _mean(metrics: dict[str, Any], name: str) -> float | None:
    value = dig(metrics, name, "successful", "mean")
    return None if value is None else float(value)


def _load_point(index: int, benchmark: dict[str, Any], layout: Layout) -> LoadPoint:
    strategy = dig(benchmark, *layout.strategy_at) or {}
    metrics = benchmark.get("metrics")
    if not isinstance(metrics, dict):
        raise ValueError("has no metrics")
    totals = dig(benchmark, *layout.totals_at) or {}
    kind = strategy.get("type_")
    if kind not in set(Strategy):
        raise ValueError(f"strategy {kind!r} is not one of {', '.join(Strategy)}")
    stats = {}
    for name, (target, scale) in DISTRIBUTIONS.items():
        try:
            dist = _distribution(metrics, name, scale)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ValueError(f"{name}: {reason}") from None
        if dist is not None:
            stats[target] = dist
    start = benchmark.get("start_time")
    return LoadPoint(
        benchmark_index=index,
        strategy=Strategy(kind),
        target_rate=strategy.get("rate"),
        target_concurrency=strategy.get("streams") or (1 if kind == "synchronous" else None),
        achieved_rps=_mean(metrics, "requests_per_second"),
        concurrency=_mean(metrics, "request_concurrency"),
        prompt_tokens_mean=_mean(metrics, "prompt_token_count"),
        output_tokens_mean=_mean(metrics, "output_token_count"),
        output_tokens_per_s=_mean(metrics, "output_tokens_per_second"),
        successful=int(totals.get("successful", 0)),
        errored=int(totals.get("errored", 0)),
        incomplete=int(totals.get("incomplete", 0)),
        duration_s=benchmark.get("duration"),
        started_at=utc_time(start, "start_time"),
        stats=stats,
    )


def _data_tokens(data: Any) -> tuple[int | None, int | None]:
    """Nominal prompt and output tokens from the data spec (dict in v2, `k=v,...` text in v1)."""
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(first, str) and "=" in first:
        first = dict(part.split("=", 1) for part in first.split(",") if "=" in part)
    if not isinstance(first, dict):
        return None, None

    def as_int(value: Any) -> int | None:
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None

    return as_int(first.get("prompt_tokens")), as_int(first.get("output_tokens"))


class Layout(Frozen):
    """What one report layout says about the whole run, and where each benchmark keeps its
    strategy and request totals."""

    version: str = Field(description="GuideLLM version, as recorded, else the layout's range")
    backend: dict[str, Any] = Field(description="backend kind, target and model")
    labels: dict[str, str] = Field(description="labels (0.7+) or output extras (0.2-0.3)")
    data: Any = Field(description="the data spec the load was made from")
    details: dict[str, Any] = Field(description="profile and limits, for the provenance")
    strategy_at: tuple[str, ...] = Field(
        default=("config", "strategy"), description="path to a benchmark's strategy"
    )
    totals_at: tuple[str, ...] = Field(
        default=("metrics", "request_totals"), description="path to a benchmark's totals"
    )


def detected(document: Any) -> str:
    """The GuideLLM version and layout a report looks like, for a refusal to name."""
    metadata = dig(document, "metadata")
    if isinstance(metadata, dict):
        version = metadata.get("guidellm_version")
        named = f"GuideLLM {version} " if version else ""
        return f"{named}metadata.version={metadata.get('version')!r}"
    if isinstance(dig(document, "args"), dict):
        return "GuideLLM 0.4 (top-level args, no metadata)"
    first = dig(document, "benchmarks", 0)
    if isinstance(first, dict) and isinstance(first.get("args"), dict):
        return "GuideLLM 0.2-0.3 (per-benchmark args)"
    return "no GuideLLM layout (metadata.version=None, no args)"


def _first_layout(benchmarks: list[Any]) -> Layout | None:
    """GuideLLM 0.2-0.3: every benchmark carries the backend and data it ran with."""
    first = benchmarks[0] if benchmarks else None
    if not isinstance(first, dict) or not isinstance(first.get("args"), dict):
        return None
    worker = first.get("worker") or {}
    loader = first.get("request_loader") or {}
    if not isinstance(worker, dict) or not isinstance(loader, dict):
        return None
    backend = {
        "model": worker.get("backend_model"),
        "target": worker.get("backend_target"),
        "kind": worker.get("backend_type"),
    }
    # `--output-extras '{"gpu": "h100", ...}'` is how these versions label a report.
    extras = first.get("extras") or {}
    labels = {str(k): str(v) for k, v in extras.items()} if isinstance(extras, dict) else {}
    details = {
        "profile": dig(first, "args", "profile", "type_"),
        "max_requests": dig(first, "args", "max_number"),
        "max_seconds": dig(first, "args", "max_duration"),
        "processor": loader.get("processor"),
    }
    return Layout(
        version=FIRST_LAYOUT_VERSION,
        backend=backend,
        labels=labels,
        data=loader.get("data"),
        details=details,
        strategy_at=("args", "strategy"),
        totals_at=("request_totals",),
    )


def _layout(document: Any, path: Path) -> Layout:
    """The layout of a report, or a refusal naming the one detected and the ones accepted."""
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise ImportRejectedError(
            str(path), f"not a GuideLLM report: no benchmarks list; expected {SUPPORTED}"
        )
    version = dig(document, "metadata", "version")
    recorded = dig(document, "metadata", "guidellm_version")
    if version == 2 and isinstance(dig(document, "config", "spec"), dict):
        spec = document["config"]["spec"]
        return Layout(
            version=str(recorded or "0.7-0.8 (not recorded)"),
            backend=spec.get("backend") or {},
            labels=dig(document, "config", "metadata", "labels") or {},
            data=spec.get("data"),
            details={"profile": spec.get("profile"), "constraints": spec.get("constraints")},
        )
    # GuideLLM 0.5-0.6 write metadata.version 1; 0.4 writes no metadata at all.
    if version in (1, None) and isinstance(document.get("args"), dict):
        args = document["args"]
        backend = {
            "model": args.get("model"),
            "target": args.get("target"),
            "kind": args.get("backend"),
        }
        return Layout(
            version=str(recorded or "0.4 (not recorded)"),
            backend=backend,
            labels={},
            data=args.get("data"),
            details={k: args.get(k) for k in ("profile", "rate", "max_requests", "max_seconds")},
        )
    first = _first_layout(document["benchmarks"]) if "metadata" not in document else None
    if first is not None:
        return first
    raise ImportRejectedError(
        str(path),
        f"unsupported GuideLLM report layout (detected {detected(document)}); expected {SUPPORTED}",
    )


@guarded
def parse_result(path: Path, options: ImportOptions | None = None) -> Batch:
    """Read one GuideLLM report into a batch: one run, one load point per sub-benchmark."""
    options = options or ImportOptions()
    raw, document = read_document(path)
    layout = _layout(document, path)
    backend, labels = layout.backend, layout.labels
    if not document["benchmarks"]:
        raise ImportRejectedError(str(path), "the report holds no benchmarks")
    points = []
    for index, benchmark in enumerate(document["benchmarks"]):
        try:
            points.append(_load_point(index, benchmark, layout))
        except ValidationError as exc:
            raise rejected_validation(path, f"benchmarks[{index}]", exc) from exc
        except (TypeError, ValueError, AttributeError) as exc:
            raise ImportRejectedError(str(path), f"benchmarks[{index}] {exc}") from exc

    model = options.model or labels.get("model") or backend.get("model")
    if not model:
        raise MissingFieldError(str(path), "model", "model")
    format_name = options.format or labels.get("format")
    fmt = parse_format(format_name) if format_name else format_from_name(str(model))
    if fmt is None:
        raise MissingFieldError(str(path), "quantization format", "format")
    gpu = options.gpu or labels.get("gpu")
    if not gpu:
        raise MissingFieldError(str(path), "GPU type", "gpu")
    count = options.gpu_count or labels.get("gpu_count")
    if not count:
        raise MissingFieldError(str(path), "GPU count", "gpu_count")
    try:
        gpu_count = int(count)
    except ValueError:
        raise ImportRejectedError(
            str(path), f"gpu_count label {count!r} is not an integer"
        ) from None
    prefill, decode = _data_tokens(layout.data)
    # GuideLLM does not know the server; a label, else the flag, says which vLLM it was. The
    # profiler also records it in the source's details, which the store falls back on.
    engine_version = labels.get("engine_version") or options.engine_version
    engine = labels.get("engine") or options.engine or ("vllm" if engine_version else None)
    digest = sha256(raw)
    source = SourceRecord(
        kind="guidellm",
        name=f"{path.name}#{digest[:8]}",
        uri=str(path.resolve()),
        sha256=digest,
        tool="guidellm",
        tool_version=layout.version,
        details={
            **layout.details,
            "labels": labels,
            "target": backend.get("target"),
            "served_model": backend.get("model"),
            "platform": dig(document, "metadata", "platform"),
            "python_version": dig(document, "metadata", "python_version"),
            "layout_version": dig(document, "metadata", "version"),
        },
    )
    started = min((p.started_at for p in points if p.started_at), default=None)
    run = RunRecord(
        label=path.name,
        model=str(model),
        format=fmt,
        method=options.method or labels.get("method"),
        gpu=str(gpu),
        gpu_count=gpu_count,
        use_case=options.use_case or labels.get("use_case"),
        prefill_tokens=prefill,
        decode_tokens=decode,
        started_at=started,
        engine=engine,
        engine_version=engine_version,
        args={"backend": backend, "data": layout.data},
        load_points=points,
    )
    return Batch(source=source, runs=[run])
