"""Reading the catalog for people and programs: coverage, read-only SQL, export, add a model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from advisor.architecture import Architecture
from advisor.errors import InvalidInputError, ReadOnlyQueryError
from catalog.db import Connection, transaction
from catalog.sqlfiles import sql

READ_ONLY_STATEMENTS = frozenset(
    {
        duckdb.StatementType.SELECT,
        duckdb.StatementType.EXPLAIN,
        duckdb.StatementType.PRAGMA,
        duckdb.StatementType.CALL,
    }
)
PUBLIC_VIEWS = ("sync_latency", "async_throughput", "accuracy", "gpus", "models", "load_points")
EXPORTED = (
    *PUBLIC_VIEWS,
    "text_similarity",
    "price_points",
    "use_cases",
    "formats",
    "sources",
    "runs",
)


def rows(
    con: Connection, query: str, params: Any = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = con.execute(query, params) if params is not None else con.execute(query)
    columns = [d[0] for d in cursor.description or []]
    return columns, cursor.fetchall()


def read_only_query(con: Connection, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run user SQL that may only read: anything else is refused before it runs."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise InvalidInputError(f"SQL does not parse: {exc}") from exc
    if not statements:
        raise InvalidInputError("no SQL statement given")
    for statement in statements:
        refused = _refused_type(statement)
        if refused is not None:
            raise ReadOnlyQueryError(
                f"{refused.name} statements are refused: the catalog is read-only here; "
                "accepted: SELECT (including WITH, DESCRIBE, SHOW, SUMMARIZE), EXPLAIN, PRAGMA, "
                "CALL. Add data with `advisor catalog import` or `add-model`"
            )
    cursor = con.cursor()
    try:
        for statement in statements[:-1]:
            cursor.execute(statement)
        return rows(cursor, statements[-1].query)
    except duckdb.Error as exc:
        raise InvalidInputError(f"SQL failed: {exc}") from exc


def _refused_type(statement: duckdb.Statement) -> duckdb.StatementType | None:
    """The type that makes a statement a write, or None for a read. EXPLAIN ANALYZE runs the
    statement it explains, so that one is as read-only as the statement."""
    kind = statement.type
    if kind not in READ_ONLY_STATEMENTS:
        return kind
    if kind != duckdb.StatementType.EXPLAIN:
        return None
    analysed = _analysed_sql(statement.query)
    if analysed is None:
        return None
    try:
        inner = duckdb.extract_statements(analysed)
    except duckdb.Error:
        return kind  # what cannot be classified is not run
    return next((t for t in map(_refused_type, inner) if t is not None), None)


def _analysed_sql(query: str) -> str | None:
    """The statement an `EXPLAIN ANALYZE` (or `EXPLAIN (ANALYZE, ...)`) runs; None for a plain
    EXPLAIN, which only plans. Read with DuckDB's tokenizer, so comments and case don't matter."""
    tokens = duckdb.tokenize(query)
    ends = [start for start, _ in tokens[1:]] + [len(query)]
    words = [
        (start, query[start:end].strip().lower())
        for (start, kind), end in zip(tokens, ends, strict=True)
        if kind != duckdb.token_type.comment
    ]
    analyse = {"analyze", "analyse"}
    index = 1  # words[0] is EXPLAIN
    if index < len(words) and words[index][1] in analyse:
        index += 1
    elif index < len(words) and words[index][1] == "(":
        close = next((i for i in range(index, len(words)) if words[i][1] == ")"), len(words))
        if not analyse & {word for _, word in words[index:close]}:
            return None
        index = close + 1
    else:
        return None
    return query[words[index][0] :] if index < len(words) else ""


def performance_cells(
    con: Connection, model: str | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Measured cells per model, format, GPU and GPU count."""
    return rows(con, sql("coverage"), {"model": model})


def coverage(con: Connection, model: str | None = None) -> dict[str, Any]:
    perf = performance_cells(con, model)
    acc = rows(con, sql("accuracy_coverage"), {"model": model})
    return {"counts": counts(con), "performance": perf, "accuracy": acc}


def add_model(
    con: Connection, name: str, arch: Architecture, hf_id: str | None, source: str
) -> None:
    """Add (or update) a user model; the study's models cannot be overwritten. The catalog's
    columns describe dense full-attention decoders: a model with experts, latent attention or
    sliding windows would be read back without them, so it is refused until they are stored."""
    if arch.experts or arch.latent_attention or arch.sliding_layers:
        raise InvalidInputError(
            f"model {name!r} ({arch.family}) has experts, latent attention or sliding windows, "
            "which the catalog does not store yet; give its config.json as --model PATH instead"
        )
    existing = con.execute(sql("model_origin"), [name]).fetchone()
    if existing is not None and existing[0] == "seed":
        raise InvalidInputError(
            f"model {name!r} is one of the embedded study models; choose another --name"
        )
    with transaction(con):
        con.execute(
            sql("upsert_model"),
            [
                name,
                hf_id,
                arch.family,
                arch.architecture,
                arch.params_b,
                arch.layers,
                arch.hidden_size,
                arch.heads,
                arch.kv_heads,
                arch.head_dim,
                arch.intermediate_size,
                arch.vocab_size,
                arch.tied_embeddings,
                arch.attention_bias,
                arch.max_position_embeddings,
                source,
            ],
        )


def export(con: Connection, directory: Path) -> list[Path]:
    """Write each public view and reference table to `<directory>/<name>.parquet`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in EXPORTED:
        target = directory / f"{name}.parquet"
        # COPY takes no bound file name; the name is ours and the path is quoted.
        quoted = str(target).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM {name}) TO '{quoted}' (FORMAT parquet)")
        written.append(target)
    return written


PAGES = {
    "sync": "sync_latency",
    "async": "async_throughput",
    "accuracy": "accuracy",
    "load_points": "load_points",
}


def page(
    con: Connection, kind: str, filters: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """(total matching, one page of rows) of a public view."""
    params = {
        "model": None,
        "format": None,
        "gpu": None,
        "use_case": None,
        **filters,
        "limit": limit,
        "offset": offset,
    }
    columns, found = rows(con, sql(f"page_{PAGES[kind]}"), params)
    records = [dict(zip(columns, row, strict=True)) for row in found]
    total = int(records[0].pop("total")) if records else 0
    for record in records[1:]:
        record.pop("total")
    return total, records


def counts(con: Connection) -> dict[str, int]:
    """Rows per table and view, for health checks and `catalog info`."""
    return {str(k): int(v) for k, v in con.execute(sql("counts")).fetchall()}


def records(
    con: Connection, name: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Rows of a named SQL file as dictionaries."""
    columns, found = rows(con, sql(name), params)
    return [dict(zip(columns, row, strict=True)) for row in found]


def profiled(
    con: Connection,
    model: str,
    fmt: str,
    gpu: str,
    gpu_count: int,
    prefill: int | None,
    decode: int | None,
    tasks: list[str] | None,
) -> bool:
    """Whether a profiling plan's step is already in the catalog: a rate search for the
    workload, or lm-eval scores for every task of a task set."""
    if tasks is not None:
        found = con.execute(
            sql("profiled_accuracy"), {"model": model, "format": fmt, "tasks": tasks}
        )
    else:
        found = con.execute(
            sql("profiled_perf"),
            {
                "model": model,
                "format": fmt,
                "gpu": gpu,
                "gpu_count": gpu_count,
                "prefill": prefill,
                "decode": decode,
            },
        )
    row = found.fetchone()
    return bool(row and row[0])


def use_case_tokens(con: Connection) -> dict[str, tuple[int, int]]:
    """(prefill, decode) tokens of every use case, by use case id."""
    return {
        str(use_case): (int(prefill), int(decode))
        for use_case, prefill, decode in con.execute(sql("use_case_tokens")).fetchall()
    }
