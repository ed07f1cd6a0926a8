"""Write batches into the catalog: names resolved, references checked, all in one transaction."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from advisor.errors import ImportRejectedError, InvalidInputError, UnknownNameError
from catalog.db import Connection, transaction
from catalog.queries import records
from catalog.records import Batch, IngestResult, PublishedAccuracyRow, RunRecord, SourceRecord
from catalog.sqlfiles import sql

STAT_METRICS = ("ttft_ms", "itl_ms", "tpot_ms", "latency_s")
# Sources that `catalog.seed` loads from the embedded data and replaces whole when it changes:
# the catalog keeps them as shipped, so they cannot be removed one by one.
SEEDED_KINDS = ("study", "card")


class Names:
    """Every accepted spelling of the catalog's models, GPUs and use cases."""

    def __init__(self, con: Connection) -> None:
        self._by_kind: dict[str, dict[str, str]] = {"model": {}, "gpu": {}, "use_case": {}}
        for kind, alias, canonical in con.execute(sql("names")).fetchall():
            self._by_kind[kind][alias] = canonical

    def resolve(self, kind: str, value: str, hint: str = "") -> str:
        found = self._by_kind[kind].get(value.strip().lower())
        if found is None:
            raise UnknownNameError(
                kind.replace("_", " "), value, self.canonical(kind), hint, self._by_kind[kind]
            )
        return found

    def canonical(self, kind: str) -> list[str]:
        return sorted(set(self._by_kind[kind].values()))


class GpuCompute:
    """Which formats vLLM runs on each catalog GPU (its `format_support` table, the one the
    advisor reads): a measurement in a format that cannot run there is refused at import."""

    def __init__(self, con: Connection) -> None:
        self._runs: dict[str, dict[str, str | None]] = {}
        self._refused: dict[str, dict[str, str | None]] = {}
        for gpu, fmt, support, note in con.execute(sql("gpu_compute")).fetchall():
            table = self._refused if support == "no" else self._runs
            table.setdefault(gpu, {})[fmt] = note

    def check(self, run: RunRecord, gpu: str, where: str) -> None:
        fmt = run.format.value
        if fmt in self._runs.get(gpu, {}) or gpu not in self._runs:
            return
        why = self._refused.get(gpu, {}).get(fmt) or "not in vLLM's table for it"
        raise ImportRejectedError(
            where,
            f"format {fmt} does not run on {gpu} ({why}); formats vLLM runs on {gpu}: "
            + ", ".join(sorted(self._runs[gpu])),
        )


def execute_script(con: Connection, text: str, params: dict[str, Any]) -> None:
    """Run a file of several statements that share named parameters (split by DuckDB's parser,
    each given the parameters it names)."""
    for statement in con.extract_statements(text):
        names = set(statement.named_parameters)
        con.execute(statement, {key: value for key, value in params.items() if key in names})


def delete_source(con: Connection, source_id: int) -> None:
    execute_script(con, sql("delete_source"), {"source_id": source_id})


def sources(con: Connection, source_id: int | None = None) -> list[dict[str, Any]]:
    """Every source of the catalog's rows (or the one `source_id` names): id, kind, name,
    file, sha256, tool, imported_at, runs, rows, and whether it can be removed."""
    return records(con, "list_sources", {"source_id": source_id, "seeded": list(SEEDED_KINDS)})


def remove_source(con: Connection, source_id: int) -> dict[str, Any]:
    """Take one import out with every row it added, all in one transaction; returns what it
    was (`queries.sources`). The embedded study tables and model cards are refused."""
    with transaction(con):
        found = sources(con, source_id)
        if not found:
            raise InvalidInputError(
                f"no source {source_id} in the catalog; `advisor catalog sources` lists them"
            )
        (source,) = found
        if not source["removable"]:
            raise InvalidInputError(
                f"source {source_id} ({source['name']}) is embedded {source['kind']} data, "
                "loaded with the catalog, and cannot be removed; removable: imports (any kind "
                f"but {' and '.join(SEEDED_KINDS)})"
            )
        delete_source(con, source_id)
    return source


def _json(value: dict[str, Any]) -> str | None:
    return json.dumps(value, sort_keys=True, default=str) if value else None


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _engine(run: RunRecord, source: SourceRecord) -> tuple[str | None, str | None]:
    """The run's engine, else the one its source recorded: the profiler writes the vLLM it
    served with into the source's details after parsing the GuideLLM report."""
    version = run.engine_version or source.details.get("engine_version")
    engine = run.engine or source.details.get("engine")
    return (None if engine is None else str(engine)), (None if version is None else str(version))


def _insert_run(
    con: Connection,
    names: Names,
    compute: GpuCompute,
    source_id: int,
    run: RunRecord,
    source: SourceRecord,
) -> int:
    model = names.resolve("model", run.model, "add it with `advisor catalog add-model CONFIG`")
    gpu = names.resolve("gpu", run.gpu) if run.gpu is not None else None
    if gpu is not None and (run.sync or run.async_ or run.load_points):
        compute.check(run, gpu, source.uri)
    use_case = names.resolve("use_case", run.use_case) if run.use_case is not None else None
    row = con.execute(
        sql("insert_run"),
        [
            source_id,
            run.label,
            model,
            run.format.value,
            run.method,
            gpu,
            run.gpu_count,
            use_case,
            run.prefill_tokens,
            run.decode_tokens,
            _naive_utc(run.started_at),
            _json(run.args),
            *_engine(run, source),
        ],
    ).fetchone()
    assert row is not None
    run_id = int(row[0])
    for s in run.sync:
        con.execute(
            sql("insert_sync"),
            [
                run_id,
                names.resolve("use_case", s.use_case) if s.use_case else None,
                s.prefill_tokens,
                s.decode_tokens,
                s.latency_s,
                s.published_queries_per_usd,
                s.published_cost_reduction,
                s.decode_flag,
                s.ttft_ms,
                s.itl_ms,
                s.decode_reason,
            ],
        )
    for a in run.async_:
        con.execute(
            sql("insert_async"),
            [
                run_id,
                names.resolve("use_case", a.use_case) if a.use_case else None,
                a.prefill_tokens,
                a.decode_tokens,
                a.max_qps,
                a.ttft_limit_ms,
                a.itl_limit_ms,
                a.published_queries_per_usd,
                a.published_speedup,
                a.decode_flag,
                a.decode_reason,
            ],
        )
    for p in run.load_points:
        point = con.execute(
            sql("insert_benchmark"),
            [
                run_id,
                p.benchmark_index,
                p.strategy.value,
                p.target_rate,
                p.target_concurrency,
                p.achieved_rps,
                p.concurrency,
                p.prompt_tokens_mean,
                p.output_tokens_mean,
                p.output_tokens_per_s,
                p.successful,
                p.errored,
                p.incomplete,
                p.duration_s,
                _naive_utc(p.started_at),
            ],
        ).fetchone()
        assert point is not None
        for metric, d in p.stats.items():
            if metric not in STAT_METRICS:
                raise ValueError(f"unknown distribution {metric!r}; accepted: {STAT_METRICS}")
            con.execute(
                sql("insert_latency_stat"),
                [
                    point[0],
                    metric,
                    d.mean,
                    d.std,
                    d.min,
                    d.p50,
                    d.p90,
                    d.p95,
                    d.p99,
                    d.max,
                    d.count,
                ],
            )
    for r in run.accuracy:
        con.execute(
            sql("insert_accuracy"),
            [
                run_id,
                r.suite,
                r.task,
                r.metric,
                r.filter,
                r.n_shot,
                r.run_index,
                r.score,
                r.score_unit,
                r.stderr,
                r.ci95_low_delta,
                r.ci95_high_delta,
                r.n_samples,
                r.n_samples_effective,
                r.limited,
                r.task_version,
                r.published_recovery_pct,
                r.protocol,
            ],
        )
    for t in run.similarity:
        con.execute(
            sql("insert_similarity"),
            [run_id, t.metric, t.score, t.prompts, t.baseline_format, t.embedding_model],
        )
    return run_id


def _insert_published(con: Connection, source_id: int, p: PublishedAccuracyRow) -> None:
    con.execute(
        sql("insert_published_accuracy"),
        [
            source_id,
            p.model,
            p.quantized_model,
            p.format.value,
            p.format_detail,
            p.suite,
            p.task,
            p.benchmark,
            p.n_shot,
            p.score,
            p.baseline_score,
            p.recovery_pct,
            p.protocol,
            p.notes,
        ],
    )


def _row_count(run: RunRecord) -> int:
    return (
        len(run.sync)
        + len(run.async_)
        + len(run.load_points)
        + len(run.accuracy)
        + len(run.similarity)
    )


def _ingest(
    con: Connection, names: Names, compute: GpuCompute, batch: Batch, replace: bool
) -> IngestResult:
    src = batch.source
    existing = con.execute(sql("source_by_hash"), [src.sha256]).fetchone()
    if existing is not None:
        if not replace:
            return IngestResult(source_id=int(existing[0]), duplicate=True, runs=0, rows=0)
        delete_source(con, int(existing[0]))
    row = con.execute(
        sql("insert_source"),
        [
            src.kind,
            src.name,
            src.uri,
            src.sha256,
            src.tool,
            src.tool_version,
            src.citation,
            src.host or socket.gethostname(),
            _naive_utc(src.imported_at) or datetime.now(UTC).replace(tzinfo=None),
            _json(src.details),
        ],
    ).fetchone()
    assert row is not None
    source_id = int(row[0])
    for run in batch.runs:
        _insert_run(con, names, compute, source_id, run, src)
    for p in batch.published_accuracy:
        _insert_published(con, source_id, p)
    return IngestResult(
        source_id=source_id,
        duplicate=False,
        runs=len(batch.runs),
        rows=sum(_row_count(run) for run in batch.runs) + len(batch.published_accuracy),
    )


def ingest(
    con: Connection,
    *batches: Batch,
    replace: bool = False,
    before_commit: Callable[[Connection, list[IngestResult]], None] | None = None,
) -> list[IngestResult]:
    """Add artefacts' rows, all in one transaction: every batch lands, or none does.

    The same artefact (same content hash) twice adds nothing, unless `replace`, which swaps the
    old rows for the new ones. `before_commit` sees the catalog with the new rows, before anyone
    else does: raising there takes them back out.
    """
    with transaction(con):
        results = write(con, *batches, replace=replace)
        if before_commit is not None:
            before_commit(con, results)
        return results


def write(con: Connection, *batches: Batch, replace: bool = False) -> list[IngestResult]:
    """`ingest` inside the caller's transaction (a merge adds models first, in the same one)."""
    names, compute = Names(con), GpuCompute(con)
    return [_ingest(con, names, compute, batch, replace) for batch in batches]
