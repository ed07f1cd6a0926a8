"""Measurements CSV (published tables, spreadsheets) -> synchronous and asynchronous results.

Long format, one measured number a row. Required columns: model, format, gpu, gpu_count,
prefill_tokens, decode_tokens, metric, value. Optional: use_case, engine, engine_version,
ttft_limit_ms, itl_limit_ms, source, notes. `metric` is `latency_s` (synchronous, end to end),
`ttft_ms` or `itl_ms` (synchronous), or `max_qps` (with its limits; empty: unconstrained). The
rows of one shape of one configuration make one synchronous cell; model, GPU and use case names
are resolved (and the format checked against the GPU) by `store.ingest`.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from advisor.errors import ImportRejectedError, UnknownNameError
from advisor.vocabulary import Format, Frozen, parse_format
from catalog import hygiene
from catalog.importers.common import ImportOptions, guarded, read_bounded, sha256
from catalog.records import AsyncRow, Batch, RunRecord, SourceRecord, SyncRow

REQUIRED = (
    "model",
    "format",
    "gpu",
    "gpu_count",
    "prefill_tokens",
    "decode_tokens",
    "metric",
    "value",
)
OPTIONAL = (
    "use_case",
    "engine",
    "engine_version",
    "ttft_limit_ms",
    "itl_limit_ms",
    "source",
    "notes",
)
Metric = Literal["latency_s", "ttft_ms", "itl_ms", "max_qps"]
SYNC_METRICS = ("latency_s", "ttft_ms", "itl_ms")


class MeasurementRow(Frozen):
    """One CSV row, validated: every accepted row can be written and read back."""

    model: str = Field(min_length=1, description="catalog model id, alias or HF id")
    format: Format = Field(description="quantization format (the study's spellings accepted)")
    gpu: str = Field(min_length=1, description="catalog GPU id or alias")
    gpu_count: int = Field(gt=0, description="GPUs serving the model")
    prefill_tokens: int = Field(gt=0, description="prompt tokens per request")
    decode_tokens: int = Field(gt=0, description="output tokens per request")
    metric: Metric = Field(description="latency_s, ttft_ms, itl_ms or max_qps")
    value: float = Field(gt=0, allow_inf_nan=False, description="the measured number")
    use_case: str | None = Field(default=None, description="catalog use case, when it is one")
    engine: str | None = Field(default=None, description="serving engine, e.g. vllm")
    engine_version: str | None = Field(default=None, description="its version")
    ttft_limit_ms: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="max_qps only: TTFT limit"
    )
    itl_limit_ms: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="max_qps only: ITL limit"
    )
    source: str | None = Field(default=None, description="the publication the number is from")
    notes: str | None = Field(default=None, description="anything else")

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: object) -> object:
        return parse_format(value) if isinstance(value, str) else value


def _rows(path: Path, raw: bytes) -> list[tuple[int, dict[str | None, str | None]]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejectedError(str(path), f"not UTF-8 text (byte {exc.start})") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportRejectedError(
            str(path),
            f"missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}",
        )
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise ImportRejectedError(
            str(path),
            f"unknown column(s) {', '.join(unknown)}; accepted: {', '.join(REQUIRED + OPTIONAL)}",
        )
    reader.fieldnames = header
    found = [(index + 2, row) for index, row in enumerate(reader)]  # line 1 is the header
    if not found:
        raise ImportRejectedError(str(path), "the file has a header but no rows")
    return found


def _parse(path: Path, line: int, row: dict[str | None, str | None]) -> MeasurementRow:
    if None in row:
        raise ImportRejectedError(str(path), f"line {line}: more values than columns")
    values = {k: v.strip() for k, v in row.items() if k and isinstance(v, str) and v.strip()}
    try:
        parsed = MeasurementRow.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "row"
        raise ImportRejectedError(
            str(path),
            f"line {line}: column {field!r} {first['msg'].lower()} (got {first.get('input')!r})",
        ) from None
    except UnknownNameError as exc:  # a format name: its message lists the accepted ones
        raise ImportRejectedError(str(path), f"line {line}: {exc}") from None
    if parsed.metric != "max_qps" and (parsed.ttft_limit_ms or parsed.itl_limit_ms):
        raise ImportRejectedError(
            str(path), f"line {line}: TTFT/ITL limits belong to max_qps rows, not {parsed.metric}"
        )
    return parsed


RunKey = tuple[str, Format, str, int, str | None, str | None, str | None]


@guarded
def parse_result(path: Path, options: ImportOptions | None = None) -> Batch:
    """Read a measurements CSV into one batch: one run per configuration and cited source."""
    options = options or ImportOptions()
    raw = read_bounded(path)
    if not raw.strip():
        raise ImportRejectedError(str(path), "the file is empty")
    sync: dict[RunKey, dict[tuple[str | None, int, int], dict[str, float]]] = defaultdict(dict)
    async_: dict[RunKey, dict[tuple[object, ...], AsyncRow]] = defaultdict(dict)
    notes: dict[RunKey, set[str]] = defaultdict(set)
    rows = _rows(path, raw)
    for line, row in rows:
        m = _parse(path, line, row)
        version = m.engine_version or options.engine_version
        engine = m.engine or options.engine or ("vllm" if version else None)
        key: RunKey = (m.model, m.format, m.gpu, m.gpu_count, engine, version, m.source)
        if m.notes:
            notes[key].add(m.notes)
        shape = (m.use_case, m.prefill_tokens, m.decode_tokens)
        if m.metric == "max_qps":
            limits = (*shape, m.ttft_limit_ms, m.itl_limit_ms)
            if limits in async_[key]:
                raise ImportRejectedError(str(path), f"line {line}: a second max_qps for {shape}")
            async_[key][limits] = AsyncRow(
                use_case=m.use_case,
                prefill_tokens=m.prefill_tokens,
                decode_tokens=m.decode_tokens,
                max_qps=m.value,
                ttft_limit_ms=m.ttft_limit_ms,
                itl_limit_ms=m.itl_limit_ms,
            )
            continue
        cell = sync[key].setdefault(shape, {})
        if m.metric in cell:
            raise ImportRejectedError(str(path), f"line {line}: a second {m.metric} for {shape}")
        cell[m.metric] = m.value
    runs = []
    for key in dict.fromkeys([*sync, *async_]):
        model, fmt, gpu, count, engine, version, cited = key
        runs.append(
            RunRecord(
                label=cited,
                model=model,
                format=fmt,
                gpu=gpu,
                gpu_count=count,
                engine=engine,
                engine_version=version,
                args={"notes": sorted(notes[key])} if notes[key] else {},
                sync=[
                    SyncRow(
                        use_case=use_case,
                        prefill_tokens=prefill,
                        decode_tokens=decode,
                        latency_s=cell.get("latency_s"),
                        ttft_ms=cell.get("ttft_ms"),
                        itl_ms=cell.get("itl_ms"),
                    )
                    for (use_case, prefill, decode), cell in sync[key].items()
                ],
                async_=list(async_[key].values()),
            )
        )
    digest = sha256(raw)
    source = SourceRecord(
        kind="measurements",
        name=f"{path.name}#{digest[:8]}",
        uri=str(path.resolve()),
        sha256=digest,
        details={"rows": len(rows), "cited": sorted({run.label for run in runs if run.label})},
    )
    # A published table can hold cells that ended early too: they are flagged, not refused.
    return hygiene.checked(Batch(source=source, runs=runs))
