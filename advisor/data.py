"""The catalog as the advisor sees it: typed rows, names, and lookups. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, ValidationError

from advisor.errors import InvalidInputError, UnknownNameError
from advisor.hardware import Gpu, ModelSpec, PriceList
from advisor.vocabulary import Format, Frozen, Strategy

# The list the study priced with (Lambda, 2024-10-28): its tables are reproduced with it.
STUDY_PRICE_LIST = "lambda-2024-10-28"


class UseCase(Frozen):
    use_case: str = Field(description="use case id")
    name: str = Field(description="display name")
    kind: str = Field(description="latency or throughput")
    prefill_tokens: int = Field(gt=0, description="prompt tokens")
    decode_tokens: int = Field(gt=0, description="output tokens")
    ttft_limit_ms: float | None = Field(default=None, description="study's TTFT limit")
    itl_limit_ms: float | None = Field(default=None, description="study's ITL limit")


class SyncCell(Frozen):
    model: str
    format: Format
    gpu: str
    gpu_count: int = Field(gt=0)
    use_case: str | None
    prefill_tokens: int = Field(gt=0)
    decode_tokens: int = Field(gt=0)
    latency_s: float = Field(gt=0)
    decode_flag: str | None
    source: str
    engine: str | None = Field(default=None, description="serving engine, e.g. vllm")
    engine_version: str | None = Field(default=None, description="its version, e.g. 0.7.2")
    ttft_ms: float | None = Field(default=None, gt=0, description="measured time to first token")
    itl_ms: float | None = Field(default=None, gt=0, description="measured inter-token latency")
    decode_reason: str | None = Field(default=None, description="why decode_flag is set")


class AsyncCell(Frozen):
    model: str
    format: Format
    gpu: str
    gpu_count: int = Field(gt=0)
    use_case: str | None
    prefill_tokens: int = Field(gt=0)
    decode_tokens: int = Field(gt=0)
    max_qps: float = Field(gt=0)
    ttft_limit_ms: float | None
    itl_limit_ms: float | None
    decode_flag: str | None
    source: str
    engine: str | None = Field(default=None, description="serving engine, e.g. vllm")
    engine_version: str | None = Field(default=None, description="its version, e.g. 0.7.2")
    decode_reason: str | None = Field(default=None, description="why decode_flag is set")


class AccuracyCell(Frozen):
    model: str
    format: Format
    suite: str
    task: str
    metric: str
    n_shot: int | None
    score: float
    baseline_score: float | None
    recovery_pct: float | None
    stderr: float | None
    ci95_low_delta: float | None
    ci95_high_delta: float | None
    source: str
    protocol: str | None = Field(
        default=None, description="P1 (the study's), P2 or P3: recoveries not to be pooled"
    )


class LoadPoint(Frozen):
    """One GuideLLM sub-benchmark: a configuration under one load, with its percentiles."""

    model: str = Field(description="model id")
    format: Format = Field(description="quantization format")
    gpu: str = Field(description="GPU id")
    gpu_count: int = Field(gt=0, description="GPUs serving one deployment")
    prefill_tokens: int | None = Field(description="prompt tokens (nominal, else measured mean)")
    decode_tokens: int | None = Field(description="output tokens (nominal, else measured mean)")
    use_case: str | None = Field(default=None, description="use case id, where the run says")
    strategy: Strategy = Field(description="GuideLLM load strategy")
    target_rate: float | None = Field(default=None, description="requests/s offered")
    target_concurrency: int | None = Field(default=None, description="streams kept in flight")
    achieved_rps: float | None = Field(description="requests/s completed: successful/duration")
    concurrency: float | None = Field(default=None, description="mean requests in flight")
    duration_s: float | None = Field(default=None, description="measured window")
    ttft_mean_ms: float | None = Field(default=None, description="mean time to first token")
    ttft_p50_ms: float | None = Field(default=None, description="median time to first token")
    ttft_p90_ms: float | None = Field(default=None, description="p90 time to first token")
    ttft_p95_ms: float | None = Field(default=None, description="p95 time to first token")
    ttft_p99_ms: float | None = Field(default=None, description="p99 time to first token")
    itl_mean_ms: float | None = Field(default=None, description="mean inter-token latency")
    itl_p50_ms: float | None = Field(default=None, description="median inter-token latency")
    itl_p90_ms: float | None = Field(default=None, description="p90 inter-token latency")
    itl_p95_ms: float | None = Field(default=None, description="p95 inter-token latency")
    itl_p99_ms: float | None = Field(default=None, description="p99 inter-token latency")
    latency_mean_s: float | None = Field(default=None, description="mean request latency")
    latency_p50_s: float | None = Field(default=None, description="median request latency")
    latency_p90_s: float | None = Field(default=None, description="p90 request latency")
    latency_p95_s: float | None = Field(default=None, description="p95 request latency")
    latency_p99_s: float | None = Field(default=None, description="p99 request latency")
    successful: int = Field(ge=0, description="requests completed")
    errored: int = Field(ge=0, description="requests that failed")
    incomplete: int = Field(ge=0, description="requests cut off at the end of the window")
    source: str = Field(description="the import's source label")
    run_id: int = Field(description="catalog run the point belongs to")
    benchmark_index: int = Field(description="position of the sub-benchmark in its report")
    engine: str | None = Field(default=None, description="serving engine, e.g. vllm")
    engine_version: str | None = Field(default=None, description="its version, e.g. 0.7.2")


class NameRow(Frozen):
    kind: str
    alias: str
    canonical: str


class PublishedCheckpoint(Frozen):
    """A published checkpoint of a catalog model (its format is in its name)."""

    model: str = Field(description="catalog model id")
    base_hf_id: str | None = Field(description="the model's own Hugging Face id")
    checkpoint: str = Field(description="Hugging Face id of the published checkpoint")


ROW_TYPES: dict[str, type[Frozen]] = {
    "models": ModelSpec,
    "gpus": Gpu,
    "price_lists": PriceList,
    "use_cases": UseCase,
    "sync": SyncCell,
    "async": AsyncCell,
    "accuracy": AccuracyCell,
    "names": NameRow,
    "load_points": LoadPoint,
    "checkpoints": PublishedCheckpoint,
}
IDENTIFYING = ("model", "format", "gpu", "gpu_count", "use_case", "suite", "task", "source")


def _describe(row: dict[str, Any]) -> str:
    parts = [f"{k}={row[k]}" for k in IDENTIFYING if row.get(k) is not None]
    return ", ".join(parts)[:200] or "(no identifying fields)"


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "row"
    return f"{field}: {first['msg']}"[:200]


class SkippedRow(Frozen):
    """A catalog row the advisor could not use: left out of the fit and the search, and said."""

    part: str = Field(description="which part of the snapshot: sync, async, accuracy, ...")
    row: str = Field(description="the row, in a few words")
    reason: str = Field(description="the constraint it broke")


class Snapshot(Frozen):
    """What the catalog holds, as read by `catalog.snapshot.read_snapshot`."""

    digest: str = Field(description="hash of the content: the fitted-model cache key")
    models: list[ModelSpec]
    gpus: list[Gpu]
    price_lists: list[PriceList] = Field(description="the shipped price lists, default first")
    use_cases: list[UseCase]
    sync: list[SyncCell]
    async_: list[AsyncCell] = Field(alias="async")
    accuracy: list[AccuracyCell]
    names: list[NameRow]
    load_points: list[LoadPoint] = Field(
        default_factory=list, description="GuideLLM sub-benchmarks of attributable runs"
    )
    checkpoints: list[PublishedCheckpoint] = Field(
        default_factory=list, description="published (quantized) checkpoints of its models"
    )
    skipped: list[SkippedRow] = Field(
        default_factory=list,
        description="rows that broke the advisor's constraints: skipped, so one bad row cannot "
        "stop every answer",
    )

    @classmethod
    def from_rows(cls, document: dict[str, Any]) -> Snapshot:
        """Rows as read by `read_snapshot`, each checked on its own: a row that slipped past
        the importers' checks (or was written by an older version) is skipped and reported,
        never fatal to every answer."""
        models = [
            {
                "model": row.get("model"),
                "hf_id": row.get("hf_id"),
                "quantized": row.get("quantized"),
                "arch": {k: v for k, v in row.items() if k not in ("model", "hf_id", "quantized")},
            }
            for row in document["models"]
        ]
        support: dict[tuple[str, str], list[dict[str, object]]] = {}
        for row in document.get("format_support", []):
            key = (str(row["vendor"]), str(row["architecture"]))
            listed = {k: row[k] for k in ("format", "support", "source")}
            support.setdefault(key, []).append({**listed, "note": row["note"] or ""})
        gpus = [
            {**row, "formats": support.get((str(row["vendor"]), str(row["architecture"])), [])}
            for row in document["gpus"]
        ]
        entries: dict[str, list[dict[str, object]]] = {}
        for row in document.get("prices", []):
            listed = {k: v for k, v in row.items() if k != "price_list"}
            entries.setdefault(str(row["price_list"]), []).append(listed)
        price_lists = [
            {**row, "entries": entries.get(str(row["name"]), [])}
            for row in document.get("price_lists", [])
        ]
        rows = {**document, "models": models, "gpus": gpus, "price_lists": price_lists}
        kept: dict[str, list[Any]] = {}
        skipped: list[SkippedRow] = []
        for part, kind in ROW_TYPES.items():
            kept[part] = []
            for row in rows.get(part) or []:
                try:
                    kept[part].append(kind.model_validate(row))
                except ValidationError as exc:
                    skipped.append(SkippedRow(part=part, row=_describe(row), reason=_reason(exc)))
        return cls.model_validate({"digest": document["digest"], **kept, "skipped": skipped})

    def price_list(self, name: str | None = None) -> PriceList:
        """A shipped price list by name; without one, the default list."""
        if name is None:
            default = [p for p in self.price_lists if p.is_default]
            if not default:
                raise InvalidInputError("the catalog has no default price list")
            return max(default, key=lambda p: (p.as_of is not None, p.as_of))
        for listed in self.price_lists:
            if listed.name == name.strip().lower():
                return listed
        raise UnknownNameError(
            "price list",
            name,
            [p.name for p in self.price_lists],
            "Your own prices (gpu, gpu_count, usd_per_hour) can be merged over any of them",
        )

    def prices_for(
        self, name: str | None = None, own: PriceList | None = None, replace: bool = False
    ) -> PriceList:
        """The prices an answer uses: a shipped list (default: the default one), with `own`
        merged over it, or `own` alone when `replace`."""
        if replace:
            if own is None:
                raise InvalidInputError("replacing the price list needs prices to replace it")
            if name is not None:
                raise InvalidInputError(
                    "give a price list to use or your own prices to replace it, not both"
                )
            return own.model_copy(
                update={"description": "your prices alone", "source": f"your file {own.name}"}
            )
        listed = self.price_list(name)
        return listed if own is None else listed.merged_with(own)

    def resolve(self, kind: str, value: str, hint: str = "") -> str:
        wanted = value.strip().lower()
        for row in self.names:
            if row.kind == kind and row.alias == wanted:
                return row.canonical
        accepted = {row.canonical for row in self.names if row.kind == kind}
        aliases = {row.alias: row.canonical for row in self.names if row.kind == kind}
        raise UnknownNameError(kind.replace("_", " "), value, accepted, hint, aliases)

    def model(self, value: str, local_models: Sequence[ModelSpec] = ()) -> ModelSpec:
        """A catalog model by id or alias, or one of `local_models` (read by the caller from a
        config.json) by the name it was given under."""
        known = any(row.alias == value.strip().lower() for row in self.names)
        for spec in local_models:
            if spec.model == value and not known:
                return spec
        name = self.resolve("model", value)
        return next(m for m in self.models if m.model == name)

    def gpu(self, value: str) -> Gpu:
        name = self.resolve("gpu", value)
        return next(g for g in self.gpus if g.gpu == name)

    def use_case(self, value: str) -> UseCase:
        name = self.resolve("use_case", value)
        return next(u for u in self.use_cases if u.use_case == name)
