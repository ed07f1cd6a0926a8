"""GuideLLM reports (JSON or YAML) -> one load point per sub-benchmark.

Two layouts are read: the current one (`metadata.version == 2`, GuideLLM 0.7-0.8, configuration
under `config.spec`) and the one before it (top-level `args`; `metadata.version == 1` in
GuideLLM 0.5-0.6, no metadata in 0.4). Metrics are the same shape in both: distributions under
`metrics.<name>.successful`, totals under `metrics.request_totals`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from advisor.errors import ImportRejectedError, MissingFieldError
from advisor.vocabulary import Strategy, format_from_name, parse_format
from catalog.importers.common import ImportOptions, dig, read_document, rejected_validation, sha256
from catalog.records import Batch, Distribution, LoadPoint, RunRecord, SourceRecord

# GuideLLM metric -> (catalog distribution, scale to the catalog's unit)
DISTRIBUTIONS = {
    "time_to_first_token_ms": ("ttft_ms", 1.0),
    "inter_token_latency_ms": ("itl_ms", 1.0),
    "time_per_output_token_ms": ("tpot_ms", 1.0),
    "request_latency": ("latency_s", 1.0),  # GuideLLM reports request latency in seconds
}
SUPPORTED = "GuideLLM 0.7-0.8 (metadata.version 2) or 0.4-0.6 (metadata.version 1, top-level args)"


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


def _load_point(index: int, benchmark: dict[str, Any]) -> LoadPoint:
    strategy = dig(benchmark, "config", "strategy") or {}
    metrics = benchmark.get("metrics")
    if not isinstance(metrics, dict):
        raise ValueError("has no metrics")
    totals = metrics.get("request_totals") or {}
    kind = strategy.get("type_")
    if kind not in set(Strategy):
        raise ValueError(f"strategy {kind!r} is not one of {', '.join(Strategy)}")
    stats = {}
    for name, (target, scale) in DISTRIBUTIONS.items():
        dist = _distribution(metrics, name, scale)
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
        started_at=datetime.fromtimestamp(float(start), UTC) if start else None,
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


def _layout(
    document: Any, path: Path
) -> tuple[dict[str, Any], dict[str, str], Any, dict[str, Any]]:
    """(backend settings, labels, data spec, provenance details) of either layout."""
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise ImportRejectedError(
            str(path), f"not a GuideLLM report: no benchmarks list; expected {SUPPORTED}"
        )
    version = dig(document, "metadata", "version")
    if version == 2 and isinstance(dig(document, "config", "spec"), dict):
        spec = document["config"]["spec"]
        labels = dig(document, "config", "metadata", "labels") or {}
        backend = spec.get("backend") or {}
        details = {"profile": spec.get("profile"), "constraints": spec.get("constraints")}
        return backend, labels, spec.get("data"), details
    # GuideLLM 0.5-0.6 write metadata.version 1; 0.4 writes no metadata at all.
    if version in (1, None) and isinstance(document.get("args"), dict):
        args = document["args"]
        backend = {
            "model": args.get("model"),
            "target": args.get("target"),
            "kind": args.get("backend"),
        }
        details = {k: args.get(k) for k in ("profile", "rate", "max_requests", "max_seconds")}
        return backend, {}, args.get("data"), details
    raise ImportRejectedError(
        str(path),
        f"unsupported GuideLLM report layout (metadata.version={version!r}); expected {SUPPORTED}",
    )


def parse_result(path: Path, options: ImportOptions | None = None) -> Batch:
    """Read one GuideLLM report into a batch: one run, one load point per sub-benchmark."""
    options = options or ImportOptions()
    raw, document = read_document(path)
    backend, labels, data, details = _layout(document, path)
    if not document["benchmarks"]:
        raise ImportRejectedError(str(path), "the report holds no benchmarks")
    points = []
    for index, benchmark in enumerate(document["benchmarks"]):
        try:
            points.append(_load_point(index, benchmark))
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
    prefill, decode = _data_tokens(data)
    # GuideLLM does not know the server; a label, else the flag, says which vLLM it was. The
    # profiler also records it in the source's details, which the store falls back on.
    engine_version = labels.get("engine_version") or options.engine_version
    engine = labels.get("engine") or options.engine or ("vllm" if engine_version else None)
    version = str(dig(document, "metadata", "guidellm_version") or "0.4 (not recorded)")
    digest = sha256(raw)
    source = SourceRecord(
        kind="guidellm",
        name=f"{path.name}#{digest[:8]}",
        uri=str(path.resolve()),
        sha256=digest,
        tool="guidellm",
        tool_version=version,
        details={
            **details,
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
        args={"backend": backend, "data": data},
        load_points=points,
    )
    return Batch(source=source, runs=[run])
