"""The advisor as one object: fitted models over a snapshot, answering queries.

`Advisor.fit(snapshot)` fits the performance and accuracy models; `advise(query)` enumerates
format x GPU x GPU count, predicts, and hands the options to the pure search. The edges (CLI,
HTTP) build a Snapshot from the catalog and call these; nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import Field, ValidationError, field_validator

from advisor import __version__
from advisor.accuracy import AccuracyModel, Recovery
from advisor.data import Snapshot
from advisor.errors import InvalidInputError
from advisor.hardware import (
    GPU_COUNTS,
    MEMORY_UTILISATION,
    Gpu,
    ModelSpec,
    PriceList,
    fits,
    memory_needed_gib,
)
from advisor.predictor import AsyncPrediction, Cell, PerformancePredictor
from advisor.search import Option, Rejected, Targets, Violation, recommend
from advisor.vocabulary import FORMAT_COMPUTE, Format, Frozen, Mode, parse_format

DEFAULT_USE_CASE = "rag"
# The default accuracy floor: 98% of the BF16 score on the Open LLM Leaderboard V1 average.
# V1 is the suite with the least noise in the study (seven tasks, all far above chance); every
# format of the study clears 98% there (the lowest is 98.72%, INT4 8B), and a 2-point loss is
# within what the study calls tolerable (1-3%). Pass --min-recovery 0 to drop the floor.
DEFAULT_MIN_RECOVERY_PCT = 98.0
DEFAULT_SUITE = "leaderboard_v1"
MAX_GPUS = 16


class Query(Frozen):
    """What to serve and under which targets, as a person or a program asks it."""

    model: str = Field(min_length=1, description="model id, alias, HF id, or config.json path")
    use_case: str | None = Field(default=None, description="use case id (sets the token counts)")
    prefill_tokens: int | None = Field(
        default=None, gt=0, le=1_000_000, description="prompt tokens"
    )
    decode_tokens: int | None = Field(default=None, gt=0, le=1_000_000, description="output tokens")
    gpus: list[str] | None = Field(default=None, description="GPU types to consider")
    formats: list[str] | None = Field(default=None, description="formats to consider")
    mode: Mode = Field(default=Mode.ASYNC, description="sync or async")
    ttft_ms: float | None = Field(default=None, gt=0, description="TTFT limit, ms")
    itl_ms: float | None = Field(default=None, gt=0, description="ITL limit, ms")
    latency_s: float | None = Field(default=None, gt=0, description="end-to-end latency limit, s")
    min_recovery: float | None = Field(default=None, ge=0, le=200, description="accuracy floor, %")
    suite: str | None = Field(default=None, description="suite or task of the accuracy floor")
    qps: float | None = Field(default=None, gt=0, description="target load, requests/s")
    max_gpus: int = Field(
        default=MAX_GPUS, ge=1, le=MAX_GPUS, description="most GPUs per deployment"
    )

    @field_validator("gpus", "formats", mode="before")
    @classmethod
    def _comma_separated(cls, values: object) -> object:
        """Repeated and comma-separated values alike: ["a100,h100"] is ["a100", "h100"]."""
        if isinstance(values, str):
            values = [values]
        if isinstance(values, list | tuple):
            items = [v.strip() for value in values for v in str(value).split(",") if v.strip()]
            return items or None
        return values


def validated(model: type[Frozen], data: dict[str, Any]) -> Any:
    """Build a domain value, turning pydantic's error into one line naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        raise InvalidInputError(
            f"{field}: {first['msg'].lower()} (got {first.get('input')!r})"
        ) from exc


class Resolved(Frozen):
    model: str
    use_case: str | None
    prefill_tokens: int
    decode_tokens: int
    gpus: list[str]
    formats: list[Format]
    gpu_counts: list[int]
    targets: Targets
    ttft_limit_ms: float | None
    itl_limit_ms: float | None
    defaults: list[str] = Field(description="which parts of the query were defaulted")


class Advice(Frozen):
    query: dict[str, Any]
    recommendation: dict[str, Any] | None
    alternatives: list[Option]
    rejected: list[Rejected]
    closest_misses: list[Rejected]
    message: str


def checkpoint_name(model: ModelSpec, fmt: Format) -> str:
    """The quantized checkpoint in the study's naming (Neural Magic's Hugging Face repos)."""
    hf = model.hf_id or model.model
    if hf.lower().startswith("meta-llama/llama-3.1-"):
        base = "Meta-" + hf.split("/", 1)[1]
        if fmt is Format.BF16:
            return f"meta-llama/{base}"
        return (
            f"neuralmagic/{base}-"
            + {Format.FP8: "FP8", Format.INT8: "quantized.w8a8", Format.INT4: "quantized.w4a16"}[
                fmt
            ]
        )
    suffix = {
        Format.BF16: "",
        Format.FP8: "-FP8",
        Format.INT8: "-quantized.w8a8",
        Format.INT4: "-quantized.w4a16",
    }[fmt]
    return f"{hf}{suffix}"


def vllm_command(model: ModelSpec, option: Option, context: int) -> str:
    tp = option.tensor_parallel_size or option.gpu_count
    parts = ["vllm serve", checkpoint_name(model, option.format)]
    if tp > 8:
        # Across nodes: tensor parallel inside a node, pipeline parallel between nodes.
        parts += ["--tensor-parallel-size 8", f"--pipeline-parallel-size {tp // 8}"]
    else:
        parts.append(f"--tensor-parallel-size {tp}")
    max_len = int(math.ceil(context / 1024) * 1024)
    parts += [f"--max-model-len {max_len}", f"--gpu-memory-utilization {MEMORY_UTILISATION}"]
    return " ".join(parts)


def guidellm_command(model: ModelSpec, option: Option, resolved: Resolved) -> str:
    name = checkpoint_name(model, option.format)
    if resolved.targets.mode is Mode.SYNC:
        profile, stop = "kind=synchronous", "kind=max_requests,count=50"
    else:
        rate = max(round(option.max_qps or 1.0, 2), 0.01)
        per_replica = rate / (option.replicas or 1)
        profile, stop = f"kind=constant,rate={per_replica:g}", "kind=max_duration,seconds=300"
    return (
        f"guidellm run --backend kind=openai_http,target=http://localhost:8000,model={name} "
        f"--tokenizer kind=huggingface_auto,model={name} "
        f"--data kind=synthetic_text,prompt_tokens={resolved.prefill_tokens},"
        f"output_tokens={resolved.decode_tokens} --profile {profile} --constraint {stop} "
        "--output kind=json,path=confirm.json"
    )


class Advisor:
    """Fitted models over one catalog snapshot."""

    def __init__(
        self, snapshot: Snapshot, predictor: PerformancePredictor, accuracy: AccuracyModel
    ) -> None:
        self.snapshot = snapshot
        self.predictor = predictor
        self.accuracy = accuracy
        self.version = __version__

    @classmethod
    def fit(cls, snapshot: Snapshot) -> Advisor:
        return cls(
            snapshot, PerformancePredictor().fit(snapshot), AccuracyModel().fit(snapshot.accuracy)
        )

    # ------------------------------------------------------------------ resolution

    def resolve(
        self, query: Query, prices: PriceList, local_models: Sequence[ModelSpec] = ()
    ) -> Resolved:
        snap = self.snapshot
        model = snap.model(query.model, local_models)
        defaults: list[str] = []
        use_case = None
        if query.use_case is not None:
            if query.prefill_tokens is not None or query.decode_tokens is not None:
                raise InvalidInputError("give a use case or prefill/decode token counts, not both")
            use_case = snap.use_case(query.use_case)
            prefill, decode = use_case.prefill_tokens, use_case.decode_tokens
        elif query.prefill_tokens is not None or query.decode_tokens is not None:
            if query.prefill_tokens is None or query.decode_tokens is None:
                raise InvalidInputError("give both prefill_tokens and decode_tokens")
            prefill, decode = query.prefill_tokens, query.decode_tokens
        else:
            use_case = snap.use_case(DEFAULT_USE_CASE)
            prefill, decode = use_case.prefill_tokens, use_case.decode_tokens
            defaults.append(f"use_case={DEFAULT_USE_CASE}")
        context = prefill + decode
        limit = model.arch.max_position_embeddings
        if limit is not None and context > limit:
            raise InvalidInputError(
                f"prefill + decode = {context} tokens exceeds the model's context of {limit}"
            )
        if query.gpus:
            gpus = sorted({snap.resolve("gpu", g) for g in query.gpus})
        else:
            known = {g.gpu for g in snap.gpus}
            gpus = [g for g in prices.gpus() if g in known]
            defaults.append("gpus=every GPU in the price list")
        formats = (
            sorted({parse_format(f) for f in query.formats}, key=list(Format).index)
            if query.formats
            else list(Format)
        )
        if not query.formats:
            defaults.append("formats=all")
        ttft, itl = query.ttft_ms, query.itl_ms
        if query.mode is Mode.ASYNC:
            latency_kind = use_case is None or use_case.kind == "latency"
            if ttft is None and latency_kind:
                ttft = use_case.ttft_limit_ms if use_case and use_case.ttft_limit_ms else 1000.0
                defaults.append(f"ttft_ms={ttft:g} (the study's limit)")
            if itl is None and latency_kind:
                itl = use_case.itl_limit_ms if use_case and use_case.itl_limit_ms else 100.0
                defaults.append(f"itl_ms={itl:g} (the study's limit)")
            if query.latency_s is not None:
                # End-to-end latency under load is at most TTFT + (D - 1) x ITL.
                budget_ms = query.latency_s * 1000 - (ttft or 0.0)
                if budget_ms <= 0:
                    raise InvalidInputError(
                        "latency_s is not above the TTFT limit: no deployment can meet both"
                    )
                itl = min(itl or math.inf, budget_ms / max(decode - 1, 1))
        suite = query.suite or DEFAULT_SUITE
        if query.suite is None:
            defaults.append(f"suite={DEFAULT_SUITE}")
        if suite not in self.accuracy.suites():
            self.accuracy.predict(model, Format.FP8, suite, {})  # raises with the accepted suites
        floor = query.min_recovery
        if floor is None:
            floor = DEFAULT_MIN_RECOVERY_PCT
            defaults.append(f"min_recovery={DEFAULT_MIN_RECOVERY_PCT:g}")
        targets = Targets(
            mode=query.mode,
            ttft_ms=ttft,
            itl_ms=itl,
            latency_s=query.latency_s if query.mode is Mode.SYNC else None,
            min_recovery_pct=floor or None,
            suite=suite,
            qps=query.qps,
        )
        counts = [c for c in GPU_COUNTS if c <= query.max_gpus]
        return Resolved(
            model=model.model,
            use_case=use_case.use_case if use_case else None,
            prefill_tokens=prefill,
            decode_tokens=decode,
            gpus=gpus,
            formats=formats,
            gpu_counts=counts,
            targets=targets,
            ttft_limit_ms=ttft,
            itl_limit_ms=itl,
            defaults=defaults,
        )

    # ------------------------------------------------------------------ evaluation

    def options(self, model: ModelSpec, resolved: Resolved, prices: PriceList) -> list[Option]:
        """Every candidate, predicted where it can be, blocked with a reason where not."""
        blocked: list[Option] = []
        cells: list[Cell] = []
        context = resolved.prefill_tokens + resolved.decode_tokens
        for gpu_id in resolved.gpus:
            gpu = self.snapshot.gpu(gpu_id)
            for fmt in resolved.formats:
                for count in resolved.gpu_counts:
                    reason = self.blocked_reason(model, fmt, gpu, count, context, prices)
                    if reason is not None:
                        blocked.append(
                            Option(
                                format=fmt,
                                gpu=gpu.gpu,
                                gpu_count=count,
                                blocked=reason,
                                usd_per_hour=prices.usd_per_hour(gpu.gpu, count),
                            )
                        )
                    else:
                        cells.append(
                            Cell(
                                model=model,
                                format=fmt,
                                gpu=gpu,
                                gpu_count=count,
                                prefill_tokens=resolved.prefill_tokens,
                                decode_tokens=resolved.decode_tokens,
                            )
                        )
        params = {m.model: (m.arch.architecture, m.arch.params_b) for m in self.snapshot.models}
        recoveries = {
            fmt: self.accuracy.predict(model, fmt, resolved.targets.suite, params)
            for fmt in resolved.formats
        }
        evaluated = self._evaluate(cells, resolved, prices, recoveries)
        return evaluated + blocked

    def blocked_reason(
        self, model: ModelSpec, fmt: Format, gpu: Gpu, count: int, context: int, prices: PriceList
    ) -> Violation | None:
        if not gpu.supports(fmt):
            compute = FORMAT_COMPUTE[fmt].value.upper()
            hint = " (on Ampere the study used INT8 instead of FP8)" if fmt is Format.FP8 else ""
            return Violation(
                reason="unsupported",
                detail=f"{gpu.gpu} ({gpu.architecture}) has no {compute} tensor cores{hint}",
            )
        if not fits(model.arch, fmt, gpu, count, context):
            need = memory_needed_gib(model.arch, fmt, context)
            have = count * gpu.memory_gib * MEMORY_UTILISATION
            return Violation(
                reason="memory",
                excess_pct=100 * (need - have) / have,
                detail=f"needs {need:,.0f} GiB (weights and one {context}-token sequence); "
                f"{count} x {gpu.memory_gib:g} GiB x {MEMORY_UTILISATION} = {have:,.0f} GiB",
            )
        if prices.usd_per_hour(gpu.gpu, count) is None:
            return Violation(
                reason="no_price",
                detail=f"no price for {gpu.gpu} in price list {prices.name!r}",
            )
        return None

    def _evaluate(
        self,
        cells: list[Cell],
        resolved: Resolved,
        prices: PriceList,
        recoveries: dict[Format, Recovery],
    ) -> list[Option]:
        targets = resolved.targets
        decode = resolved.decode_tokens
        sync = self.predictor.predict_sync(cells)
        asyn: list[AsyncPrediction] | list[None] = [None] * len(cells)
        if targets.mode is Mode.ASYNC:
            asyn = self.predictor.predict_async(
                cells, resolved.ttft_limit_ms, resolved.itl_limit_ms
            )
            # TTFT and ITL of one replica of the chosen arrangement, at low load.
            per_replica = [
                c.model_copy(update={"gpu_count": a.tensor_parallel_size})
                for c, a in zip(cells, asyn, strict=True)
            ]
            sync = self.predictor.predict_sync(per_replica)
        options = []
        for cell, s, a in zip(cells, sync, asyn, strict=True):
            usd = prices.usd_per_hour(cell.gpu.gpu, cell.gpu_count)
            assert usd is not None
            recovery = recoveries[cell.format]
            fields: dict[str, Any] = dict(
                format=cell.format,
                gpu=cell.gpu.gpu,
                gpu_count=cell.gpu_count,
                usd_per_hour=usd,
                ttft_ms=s.ttft_ms,
                itl_ms=s.itl_ms,
                latency_s=s.latency_s,
                latency_s_lo=s.latency_s_lo,
                latency_s_hi=s.latency_s_hi,
                recovery_pct=recovery.recovery_pct,
                recovery_pct_lo=recovery.recovery_pct_lo,
                recovery_pct_hi=recovery.recovery_pct_hi,
                accuracy_label=recovery.label,
            )
            if a is None:  # synchronous: one request at a time on a tensor-parallel group
                per_query = usd * s.latency_s / 3600
                fields.update(
                    tensor_parallel_size=cell.gpu_count,
                    replicas=1,
                    label=s.label,
                    max_qps=1 / s.latency_s,
                    usd_per_query=per_query,
                    usd_per_query_lo=usd * s.latency_s_lo / 3600,
                    usd_per_query_hi=usd * s.latency_s_hi / 3600,
                )
                if targets.qps is not None:
                    fields["deployments"] = math.ceil(targets.qps * s.latency_s - 1e-9)
            else:
                fields.update(
                    tensor_parallel_size=a.tensor_parallel_size,
                    replicas=a.replicas,
                    label=a.label,
                    max_qps=a.max_qps,
                    max_qps_lo=a.max_qps_lo,
                    max_qps_hi=a.max_qps_hi,
                    max_qps_unconstrained=a.max_qps_unconstrained,
                )
                if a.max_qps > 0:
                    fields.update(
                        usd_per_query=usd / (3600 * a.max_qps),
                        usd_per_query_lo=usd / (3600 * a.max_qps_hi),
                        usd_per_query_hi=usd / (3600 * a.max_qps_lo) if a.max_qps_lo > 0 else None,
                    )
                    if targets.qps is not None:
                        fields["deployments"] = math.ceil(targets.qps / a.max_qps - 1e-9)
            if fields.get("usd_per_query"):
                fields["queries_per_usd"] = 1 / fields["usd_per_query"]
            if fields.get("deployments") and targets.qps is not None:
                fleet = fields["deployments"] * usd
                fields["fleet_usd_per_hour"] = fleet
                fields["usd_per_million_output_tokens"] = (
                    fleet / (targets.qps * 3600 * decode) * 1e6
                )
            options.append(Option(**fields))
        return options

    # ------------------------------------------------------------------ the answer

    def advise(
        self,
        query: Query,
        prices: PriceList | None = None,
        local_models: Sequence[ModelSpec] = (),
    ) -> Advice:
        """The answer to `query`; `local_models` are models the caller read from config files
        (the HTTP service never passes any: a remote caller cannot make it read files)."""
        prices = prices or self.snapshot.price_list()
        resolved = self.resolve(query, prices, local_models)
        model = self.snapshot.model(query.model, local_models)
        result = recommend(self.options(model, resolved, prices), resolved.targets)
        context = resolved.prefill_tokens + resolved.decode_tokens
        winner = None
        if result.recommendation is not None:
            best = result.recommendation
            winner = {
                **best.model_dump(mode="json"),
                "checkpoint": checkpoint_name(model, best.format),
                "vllm_serve_command": vllm_command(model, best, context),
                "guidellm_command": guidellm_command(model, best, resolved),
            }
            message = f"{best.format.value} on {best.gpu_count} x {best.gpu}" + (
                f" ({best.replicas} replicas of {best.tensor_parallel_size})"
                if (best.replicas or 1) > 1
                else ""
            )
        else:
            message = "nothing meets these targets; the closest misses are listed"
        query_doc = {
            **resolved.model_dump(mode="json", exclude={"targets"}),
            **resolved.targets.model_dump(mode="json"),
            "price_list": prices.name,
            "version": self.version,
        }
        return Advice(
            query=query_doc,
            recommendation=winner,
            alternatives=result.alternatives,
            rejected=result.rejected,
            closest_misses=result.closest_misses,
            message=message,
        )


class PredictRequest(Frozen):
    """One configuration for `Advisor.predict` (the columns of `advisor predict --input`)."""

    model: str = Field(min_length=1, description="model id, alias, HF id, or config.json path")
    format: str = Field(description="bf16, fp8, int8 or int4 (or an alias)")
    gpu: str = Field(description="GPU id or alias")
    gpu_count: int = Field(gt=0, le=MAX_GPUS, description="GPUs")
    prefill_tokens: int = Field(gt=0, le=1_000_000, description="prompt tokens")
    decode_tokens: int = Field(gt=0, le=1_000_000, description="output tokens")
    mode: Mode = Field(default=Mode.SYNC, description="sync or async")
    ttft_limit_ms: float | None = Field(default=1000.0, gt=0, description="async TTFT limit")
    itl_limit_ms: float | None = Field(default=100.0, gt=0, description="async ITL limit")


PREDICTION_COLUMNS = (
    "ttft_ms",
    "itl_ms",
    "latency_s",
    "max_qps",
    "usd_per_query",
    "label",
    "latency_s_lo",
    "latency_s_hi",
    "latency_bound_s",
    "max_qps_lo",
    "max_qps_hi",
    "tensor_parallel_size",
    "replicas",
    "usd_per_hour",
    "note",
)


def predict(
    advisor: Advisor,
    requests: list[PredictRequest],
    prices: PriceList | None = None,
    local_models: Sequence[ModelSpec] = (),
) -> list[dict[str, Any]]:
    """Predictions for many configurations at once (vectorised per mode and limits)."""
    prices = prices or advisor.snapshot.price_list()
    snap = advisor.snapshot
    results: list[dict[str, Any]] = [{} for _ in requests]
    runnable: dict[tuple[Mode, float | None, float | None], list[tuple[int, Cell]]] = {}
    for index, request in enumerate(requests):
        model = snap.model(request.model, local_models)
        fmt = parse_format(request.format)
        gpu = snap.gpu(request.gpu)
        context = request.prefill_tokens + request.decode_tokens
        reason = advisor.blocked_reason(model, fmt, gpu, request.gpu_count, context, prices)
        usd = prices.usd_per_hour(gpu.gpu, request.gpu_count)
        results[index] = {"usd_per_hour": usd}
        if reason is not None and reason.reason != "no_price":
            results[index]["note"] = reason.detail
            continue
        if reason is not None:
            results[index]["note"] = reason.detail
        cell = Cell(
            model=model,
            format=fmt,
            gpu=gpu,
            gpu_count=request.gpu_count,
            prefill_tokens=request.prefill_tokens,
            decode_tokens=request.decode_tokens,
        )
        limits = (
            (request.ttft_limit_ms, request.itl_limit_ms)
            if request.mode is Mode.ASYNC
            else (None, None)
        )
        runnable.setdefault((request.mode, *limits), []).append((index, cell))
    for (mode, ttft, itl), group in runnable.items():
        cells = [cell for _, cell in group]
        sync = advisor.predictor.predict_sync(cells)
        asyn = advisor.predictor.predict_async(cells, ttft, itl) if mode is Mode.ASYNC else None
        for position, (index, _) in enumerate(group):
            s = sync[position]
            out = results[index]
            out.update(
                ttft_ms=s.ttft_ms,
                itl_ms=s.itl_ms,
                latency_s=s.latency_s,
                latency_s_lo=s.latency_s_lo,
                latency_s_hi=s.latency_s_hi,
                latency_bound_s=s.latency_bound_s,
                label=s.label.value,
                max_qps=1 / s.latency_s,
                tensor_parallel_size=cells[position].gpu_count,
                replicas=1,
            )
            if asyn is not None:
                a = asyn[position]
                out.update(
                    max_qps=a.max_qps,
                    max_qps_lo=a.max_qps_lo,
                    max_qps_hi=a.max_qps_hi,
                    tensor_parallel_size=a.tensor_parallel_size,
                    replicas=a.replicas,
                    label=a.label.value,
                )
            usd = out.get("usd_per_hour")
            if usd is not None and out.get("max_qps"):
                out["usd_per_query"] = usd / (3600 * out["max_qps"])
    return [{column: row.get(column) for column in PREDICTION_COLUMNS} for row in results]
