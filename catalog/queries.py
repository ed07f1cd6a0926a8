"""Reading the catalog for people and programs: coverage, export, add a model (user SQL runs in
`catalog.sandbox`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from advisor.architecture import Architecture
from advisor.errors import CatalogError, InvalidInputError
from advisor.vocabulary import Format
from catalog.db import Connection, first_line, transaction
from catalog.sqlfiles import sql

MEASUREMENT_TABLES = (
    "sync_results",
    "async_results",
    "benchmarks",
    "latency_stats",
    "accuracy_results",
    "similarity_results",
    "published_accuracy",
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
    # The measurement tables whole, so that `catalog merge` can read an export as a catalog.
    *MEASUREMENT_TABLES,
)


def rows(
    con: Connection, query: str, params: Any = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = con.execute(query, params) if params is not None else con.execute(query)
    columns = [d[0] for d in cursor.description or []]
    return columns, cursor.fetchall()


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
    con: Connection,
    name: str,
    arch: Architecture,
    hf_id: str | None,
    source: str,
    quantized: Format | None = None,
) -> None:
    """Add (or update) a user model with its whole architecture (experts, latent attention and
    sliding windows included) and, for an already-quantized checkpoint, its format; the study's
    models cannot be overwritten."""
    existing = con.execute(sql("model_origin"), [name]).fetchone()
    if existing is not None and existing[0] == "seed":
        raise InvalidInputError(
            f"model {name!r} is one of the embedded study models; choose another --name"
        )
    # Every field is bound by name: one the statement does not store is refused by DuckDB.
    fields = {
        "model": name,
        "hf_id": hf_id,
        **arch.model_dump(),
        "quantized": None if quantized is None else quantized.value,
        "source": source,
    }
    with transaction(con):
        con.execute(sql("upsert_model"), fields)


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


def answerable(con: Connection) -> dict[str, int]:
    """Rows per table and view, once every public view has been read whole: a count alone
    skips the columns, and a row that one of them cannot compute would go unnoticed."""
    for name in PUBLIC_VIEWS:
        try:
            # Hashing each row computes every column. The view names are ours, not input.
            con.execute(f"SELECT count(*), bit_xor(hash(v)) FROM {name} AS v").fetchone()
        except duckdb.Error as exc:
            raise CatalogError(f"the {name} view cannot be read: {first_line(exc)}") from exc
    return counts(con)


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
