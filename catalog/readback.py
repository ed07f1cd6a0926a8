"""Read a catalog's imports back into the batches that would import them: from a DuckDB
catalog file, opened read-only, or a folder of Parquet files written by `advisor catalog export`.

Every row is validated as an import validates it (`catalog.records`), so what is read back can be
written by `store.write` like a parsed file; the embedded study tables and model cards are each
catalog's own and are counted, not read.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from pydantic import Field, ValidationError

from advisor.errors import CatalogError, ImportRejectedError, InvalidInputError
from advisor.vocabulary import Frozen
from catalog import hygiene
from catalog.db import (
    Connection,
    applied_migrations,
    connect,
    first_line,
    pending_migrations,
    refuse_unreadable,
)
from catalog.importers.common import rejected_validation
from catalog.queries import MEASUREMENT_TABLES, records
from catalog.records import (
    AccuracyRow,
    AsyncRow,
    Batch,
    Distribution,
    LoadPoint,
    PublishedAccuracyRow,
    RunRecord,
    SimilarityRow,
    SourceRecord,
    SyncRow,
)
from catalog.sqlfiles import migrations
from catalog.store import SEEDED_KINDS, STAT_METRICS

# What is read of another catalog: the tables and views `catalog export` writes.
READ = ("sources", "runs", *MEASUREMENT_TABLES, "models", "gpus", "use_cases")
ROW_LISTS: dict[str, tuple[str, type[Frozen]]] = {
    "sync_results": ("sync", SyncRow),
    "async_results": ("async_", AsyncRow),
    "accuracy_results": ("accuracy", AccuracyRow),
    "similarity_results": ("similarity", SimilarityRow),
}
SEEDED = {"seeded": list(SEEDED_KINDS)}


class Imports(Frozen):
    """A catalog's imports, by the sha256 of their file: this catalog's id and the batch."""

    batches: dict[str, tuple[int, Batch]] = Field(description="sha256 -> (source id, batch)")
    embedded: int = Field(ge=0, description="embedded sources, left out")


@contextmanager
def open_other(path: Path) -> Iterator[Connection]:
    """The other catalog, read-only, with the tables and views a merge reads under their names."""
    path = path.expanduser()
    if path.is_dir():
        con = _export_folder(path)
    elif path.is_file():
        con = _catalog_file(path)
    else:
        raise InvalidInputError(
            f"{path} does not exist; give a catalog file (.duckdb) or a folder written by "
            "`advisor catalog export`"
        )
    try:
        yield con
    finally:
        con.close()


def _catalog_file(path: Path) -> Connection:
    con = connect(path, read_only=True)
    try:
        try:
            applied = applied_migrations(con)
        except duckdb.Error as exc:
            raise CatalogError(
                f"{path} cannot be read, cut short or damaged ({first_line(exc)}); give a "
                "catalog file or a folder written by `advisor catalog export`"
            ) from exc
        if not applied:
            raise CatalogError(
                f"{path} is not an advisor catalog (it has no schema_migrations); give a catalog "
                "file or a folder written by `advisor catalog export`"
            )
        refuse_unreadable(con, path)
        known = [version for version, _, _ in migrations()]
        if max(applied) > max(known):
            raise CatalogError(
                f"catalog {path} has schema version {max(applied)}, newer than this advisor's "
                f"{max(known)}; merge with the advisor that wrote it, or upgrade"
            )
        if pending_migrations(con):
            raise CatalogError(
                f"catalog {path} has an older schema (version {max(applied)}; this advisor's: "
                f"{max(known)}); open it once with this advisor (`advisor --catalog {path} "
                "catalog path`) and merge again"
            )
    except BaseException:
        con.close()
        raise
    return con


def _export_folder(folder: Path) -> Connection:
    missing = [name for name in READ if not (folder / f"{name}.parquet").is_file()]
    if missing:
        lacks = ", ".join(f"{name}.parquet" for name in missing)
        raise CatalogError(
            f"{folder} is not a catalog export: it lacks {lacks} (`advisor catalog export DIR` "
            "writes them all)"
        )
    con = duckdb.connect(":memory:")
    name = READ[0]
    try:
        for name in READ:
            con.read_parquet(str(folder / f"{name}.parquet")).create_view(name)
    except duckdb.Error as exc:
        con.close()
        raise CatalogError(
            f"{folder / name}.parquet cannot be read as Parquet ({first_line(exc)})"
        ) from exc
    return con


def read_rows(con: Connection, name: str, where: str, params: dict[str, Any] | None = None) -> Any:
    try:
        return records(con, name, params)
    except duckdb.Error as exc:
        raise CatalogError(
            f"{where} cannot be read as a catalog ({first_line(exc)}); give a catalog file or "
            "a folder written by `advisor catalog export`"
        ) from exc


def _by(rows: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row.pop(key)].append(row)
    return grouped


def _json(text: Any, what: str) -> dict[str, Any]:
    """A JSON column (tool arguments, details) as the object an importer recorded."""
    if text is None:
        return {}
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        raise ValueError(f"{what} are not JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} are not a JSON object")
    return value


def read_imports(con: Connection, where: str) -> Imports:
    """Every import of a catalog as the batch that would import it, each row validated as an
    import validates it; `where` names the catalog in the one-line refusals."""
    sources = read_rows(con, "merge_sources", where)
    runs = _by(read_rows(con, "merge_runs", where, SEEDED), "source_id")
    lists = {
        table: _by(read_rows(con, f"merge_{table}", where, SEEDED), "run_id") for table in ROW_LISTS
    }
    points = _by(read_rows(con, "merge_benchmarks", where, SEEDED), "run_id")
    stats = _by(read_rows(con, "merge_latency_stats", where, SEEDED), "load_point_id")
    published = _by(read_rows(con, "merge_published_accuracy", where, SEEDED), "source_id")
    batches: dict[str, tuple[int, Batch]] = {}
    embedded = 0
    for source in sources:
        if source["kind"] in SEEDED_KINDS:
            embedded += 1
            continue
        source_id = int(source.pop("source_id"))
        if source["sha256"] in batches:
            raise ImportRejectedError(where, f"two sources share the sha256 {source['sha256']}")
        try:
            batch = Batch(
                source=SourceRecord.model_validate(
                    {**source, "details": _json(source["details"], "the details")}
                ),
                runs=[
                    _run(run, lists, points.get(run["run_id"], []), stats)
                    for run in runs.get(source_id, [])
                ],
                published_accuracy=[
                    PublishedAccuracyRow.model_validate(p) for p in published.get(source_id, [])
                ],
            )
        except ValidationError as exc:
            raise rejected_validation(Path(where), f"source {source['name']}", exc) from exc
        except ValueError as exc:
            raise ImportRejectedError(where, f"source {source['name']}: {exc}") from exc
        # A spreadsheet's cells that ended early are flagged at import; a merge flags them too.
        batches[batch.source.sha256] = (
            source_id,
            hygiene.checked(batch) if batch.source.kind == "measurements" else batch,
        )
    return Imports(batches=batches, embedded=embedded)


def _run(
    run: dict[str, Any],
    lists: dict[str, dict[Any, list[dict[str, Any]]]],
    points: list[dict[str, Any]],
    stats: dict[Any, list[dict[str, Any]]],
) -> RunRecord:
    run_id = run.pop("run_id")
    rows = {
        field: [model.model_validate(r) for r in lists[table].get(run_id, [])]
        for table, (field, model) in ROW_LISTS.items()
    }
    load_points = []
    for point in points:
        distributions = {}
        for stat in stats.get(point.pop("load_point_id"), []):
            metric = stat.pop("metric")
            if metric not in STAT_METRICS:
                raise ValueError(f"unknown distribution {metric!r}; accepted: {STAT_METRICS}")
            distributions[metric] = Distribution.model_validate(stat)
        load_points.append(LoadPoint.model_validate({**point, "stats": distributions}))
    return RunRecord.model_validate(
        {
            **run,
            "args": _json(run["args"], "the tool arguments"),
            **rows,
            "load_points": load_points,
        }
    )


def row_count(batch: Batch) -> int:
    """Rows as an import counts them (`store.ingest`): load points, not their distributions."""
    return sum(
        len(r.sync) + len(r.async_) + len(r.load_points) + len(r.accuracy) + len(r.similarity)
        for r in batch.runs
    ) + len(batch.published_accuracy)
