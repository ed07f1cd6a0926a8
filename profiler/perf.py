"""Performance profiling with GuideLLM against a running server: a synchronous run with exact
token counts, then the rate search for the highest constant rate within the tail limits. Every
GuideLLM report goes into the catalog through the foundation importer."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field

from advisor.vocabulary import Format, Frozen
from catalog.importers import guidellm
from catalog.importers.common import ImportOptions
from catalog.records import AsyncRow, Batch, LoadPoint, RunRecord, SourceRecord
from profiler.commands import LoadSpec, Tools, build_guidellm_command
from profiler.ratesearch import Decision, Limits, Prior, Probe, decide
from profiler.runner import ToolError, fresh_dir, run_tool

GUIDELLM_HINT = "install the profiler's tools: bash scripts/install-profiler-tools.sh"
Ingest = Callable[[Batch], None]


class Workload(Frozen):
    use_case: str | None = Field(default=None, description="use case id, when it is one")
    prefill_tokens: int = Field(gt=0)
    decode_tokens: int = Field(gt=0)


class Target(Frozen):
    """What is being measured, for labels and provenance."""

    model: str = Field(description="catalog model id")
    format: Format
    gpu: str = Field(description="GPU id ('cpu' hosts use a catalog GPU id of their choice)")
    gpu_count: int = Field(gt=0)
    served_name: str = Field(description="name the server answers to")
    tokenizer: str = Field(description="local tokenizer folder")
    base_url: str = Field(description="server URL")
    engine_args: list[str] = Field(default_factory=list, description="the vLLM command")
    engine_version: str | None = Field(default=None, description="vLLM version")


class SearchSettings(Frozen):
    limits: Limits = Field(default_factory=Limits)
    sync_requests: int = Field(default=10, gt=0)
    probe_seconds: float = Field(default=20.0, gt=0, description="length of one constant-rate run")
    probe_requests: int = Field(default=200, gt=0, description="cap on requests per run")
    tolerance: float = Field(default=0.05, gt=0, lt=1)
    max_runs: int = Field(default=12, gt=0, description="constant-rate runs at most")
    timeout_s: float = Field(default=900.0, gt=0, description="per GuideLLM run")
    guided: bool = Field(
        default=True, description="bracket from the advisor's prediction when there is a guide"
    )


class PerfResult(Frozen):
    sync_latency_s: float | None
    max_qps: float
    runs: int = Field(description="GuideLLM runs, synchronous one included")
    probes: list[Probe]
    decision: str
    prior: Prior | None = Field(default=None, description="the prediction the search started from")
    guidance: str = Field(default="unguided", description="where the first bracket came from")
    reasons: list[str] = Field(default_factory=list, description="why each probe's rate")


class Guidance(Frozen):
    """What a guide says before the first constant-rate run."""

    prior: Prior | None = Field(description="the predicted max QPS and interval; None: unguided")
    note: str = Field(description="where the prediction came from, or why there is none")


class Guide(Protocol):
    """Predicts a cell's max QPS at the search's limits (profiler.guide.AdvisorGuide)."""

    def guidance(
        self, target: Target, workload: Workload, limits: Limits, sync: LoadPoint | None
    ) -> Guidance: ...

    def frozen(self) -> Guide:
        """A copy that can travel to another process: the current fit, no catalog."""
        ...


def _labels(target: Target, workload: Workload) -> dict[str, str]:
    labels = {
        "model": target.model,
        "format": target.format.value,
        "gpu": target.gpu,
        "gpu_count": str(target.gpu_count),
    }
    if workload.use_case:
        labels["use_case"] = workload.use_case
    return labels


def _tail(point: LoadPoint, metric: str, percentile: float) -> float | None:
    stats = point.stats.get(metric)
    if stats is None:
        return None
    key = {50.0: "p50", 90.0: "p90", 95.0: "p95", 99.0: "p99"}.get(float(percentile))
    if key is None:
        raise ValueError(f"percentile {percentile:g} is not reported; accepted: 50, 90, 95, 99")
    value = getattr(stats, key)
    return None if value is None else float(value)


def run_guidellm(
    tools: Tools,
    target: Target,
    workload: Workload,
    work: Path,
    name: str,
    env: dict[str, str],
    settings: SearchSettings,
    ingest: Ingest,
    rate: float | None,
) -> LoadPoint:
    run = fresh_dir(work, name)
    report = run / "report.json"
    spec = LoadSpec(
        target=target.base_url,
        model=target.served_name,
        tokenizer=target.tokenizer,
        prefill_tokens=workload.prefill_tokens,
        decode_tokens=workload.decode_tokens,
        output=report,
        rate=rate,
        max_requests=settings.sync_requests if rate is None else settings.probe_requests,
        max_seconds=None if rate is None else settings.probe_seconds,
        labels=_labels(target, workload),
    )
    log = run / "guidellm.log"
    run_tool(build_guidellm_command(tools, spec), log, env, settings.timeout_s, GUIDELLM_HINT)
    if not report.is_file():
        raise ToolError(f"GuideLLM exited 0 but wrote no report {report}; log: {log}")
    batch = guidellm.parse_result(report, ImportOptions())
    source = batch.source.model_copy(
        update={
            "details": {
                **batch.source.details,
                "engine": "vllm",
                "engine_version": target.engine_version,
                "engine_args": target.engine_args,
                "gpu": target.gpu,
                "gpu_count": target.gpu_count,
                "host": socket.gethostname(),
            }
        }
    )
    batch = batch.model_copy(update={"source": source})
    ingest(batch)
    (point,) = batch.runs[0].load_points
    return point


def _kept_up_rps(point: LoadPoint, rate: float) -> float | None:
    """Requests/s the server kept up with: those done, and those in flight when the run ended
    up to what a steady server holds (Little's law: rate x mean latency). More in flight than
    that is a backlog: the server fell behind."""
    latency = point.stats.get("latency_s")
    if not point.duration_s or latency is None or latency.mean is None:
        return None
    in_flight = min(point.incomplete, rate * latency.mean)
    return (point.successful + in_flight) / point.duration_s


def profile_performance(
    tools: Tools,
    target: Target,
    workload: Workload,
    work: Path,
    env: dict[str, str],
    settings: SearchSettings,
    ingest: Ingest,
    guide: Guide | None = None,
) -> PerfResult:
    """The synchronous run, then the rate search (bracketed by the guide's prediction, when
    there is a guide); the found rate is written as an async row."""
    work.mkdir(parents=True, exist_ok=True)
    tag = workload.use_case or f"{workload.prefill_tokens}x{workload.decode_tokens}"
    sync = run_guidellm(tools, target, workload, work, f"{tag}-sync", env, settings, ingest, None)
    latency = sync.stats["latency_s"].mean if "latency_s" in sync.stats else None
    start = 1.0 / latency if latency else 1.0
    guidance = (
        Guidance(prior=None, note="unguided")
        if guide is None or not settings.guided
        else guide.guidance(target, workload, settings.limits, sync)
    )
    prior = guidance.prior
    probes: list[Probe] = []
    reasons: list[str] = []
    decision: Decision = decide(probes, settings.limits, start, settings.tolerance, prior=prior)
    while decision.next_rate is not None and len(probes) < settings.max_runs:
        rate = decision.next_rate
        reasons.append(f"{rate:.4g} requests/s: {decision.reason}")
        point = run_guidellm(
            tools,
            target,
            workload,
            work,
            f"{tag}-rate-{len(probes) + 1}",
            env,
            settings,
            ingest,
            rate,
        )
        total = point.successful + point.errored + point.incomplete
        probes.append(
            Probe(
                rate=rate,
                ttft_ms=_tail(point, "ttft_ms", settings.limits.percentile),
                itl_ms=_tail(point, "itl_ms", settings.limits.percentile),
                error_rate=point.errored / total if total else 1.0,
                achieved_rps=point.achieved_rps,
                issued_rps=_kept_up_rps(point, rate),
            )
        )
        decision = decide(probes, settings.limits, start, settings.tolerance, prior=prior)
    result = PerfResult(
        sync_latency_s=latency,
        max_qps=decision.best_rate,
        runs=1 + len(probes),
        probes=probes,
        decision=decision.reason,
        prior=prior,
        guidance=guidance.note,
        reasons=reasons,
    )
    if decision.best_rate > 0:
        ingest(_search_batch(target, workload, settings, result))
    return result


def _search_batch(
    target: Target, workload: Workload, settings: SearchSettings, result: PerfResult
) -> Batch:
    record: dict[str, Any] = {
        "target": target.model_dump(mode="json"),
        "workload": workload.model_dump(mode="json"),
        "settings": settings.model_dump(mode="json"),
        "result": result.model_dump(mode="json"),
    }
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    limits = settings.limits
    return Batch(
        source=SourceRecord(
            kind="profiler",
            name=f"rate-search#{digest[:8]}",
            uri="profiler:rate-search",
            sha256=digest,
            tool="advisor profile perf",
            details=record,
        ),
        runs=[
            RunRecord(
                label="rate-search",
                model=target.model,
                format=target.format,
                gpu=target.gpu,
                gpu_count=target.gpu_count,
                use_case=workload.use_case,
                prefill_tokens=workload.prefill_tokens,
                decode_tokens=workload.decode_tokens,
                args={"engine_args": target.engine_args, "percentile": limits.percentile},
                async_=[
                    AsyncRow(
                        use_case=workload.use_case,
                        prefill_tokens=workload.prefill_tokens,
                        decode_tokens=workload.decode_tokens,
                        max_qps=result.max_qps,
                        ttft_limit_ms=limits.ttft_ms,
                        itl_limit_ms=limits.itl_ms,
                    )
                ],
            )
        ],
    )
