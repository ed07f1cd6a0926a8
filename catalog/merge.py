"""Bring another catalog's imports into this one (`advisor catalog merge`): a DuckDB catalog,
opened read-only, or a folder of Parquet files written by `advisor catalog export`.

Every import of the other catalog is read back into the batch that would import it, so it
passes the same validation as an import (`catalog.records`, names, formats per GPU) and lands
through `store.write`, all in one transaction. An import is identified by its file's sha256: one
already here is skipped if its rows are the same and refused if they differ; the embedded study
tables and model cards are each catalog's own and are never copied.
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
from advisor.structure import Architecture
from advisor.vocabulary import Frozen
from catalog import hygiene
from catalog.db import (
    Connection,
    applied_migrations,
    connect,
    first_line,
    pending_migrations,
    refuse_unreadable,
    transaction,
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
from catalog.sqlfiles import migrations, sql
from catalog.store import SEEDED_KINDS, write

# What a merge reads of the other catalog: the tables and views `catalog export` writes.
READ = ("sources", "runs", *MEASUREMENT_TABLES, "models", "gpus", "use_cases")
ROW_LISTS = {
    "sync_results": ("sync", SyncRow),
    "async_results": ("async_", AsyncRow),
    "accuracy_results": ("accuracy", AccuracyRow),
    "similarity_results": ("similarity", SimilarityRow),
}
SEEDED = {"seeded": list(SEEDED_KINDS)}


class MergedSource(Frozen):
    """One import of the other catalog, as this catalog holds it after the merge."""

    id: int = Field(description="source id in this catalog")
    kind: str = Field(description="guidellm, lm-eval, measurements or profiler")
    name: str = Field(description="the source's short name")
    sha256: str = Field(description="content hash of the imported file")
    runs: int = Field(ge=0, description="runs it holds")
    rows: int = Field(ge=0, description="measurement rows it holds")


class MergeResult(Frozen):
    """What a merge did."""

    other: str = Field(description="the catalog file or export folder merged from")
    added: list[MergedSource] = Field(description="imports copied into this catalog")
    present: list[MergedSource] = Field(description="imports this catalog held already")
    embedded_skipped: int = Field(ge=0, description="embedded sources of the other, not copied")
    models_added: list[str] = Field(description="model definitions copied with the imports")

    @property
    def rows_added(self) -> int:
        return sum(s.rows for s in self.added)

    @property
    def runs_added(self) -> int:
        return sum(s.runs for s in self.added)


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


def _rows(con: Connection, name: str, where: str, params: dict[str, Any] | None = None) -> Any:
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


def _json(text: Any) -> dict[str, Any]:
    return json.loads(text) if isinstance(text, str) else dict(text or {})


def read_imports(con: Connection, where: str) -> Imports:
    """Every import of a catalog as the batch that would import it, each row validated as an
    import validates it; `where` names the catalog in the one-line refusals."""
    sources = _rows(con, "merge_sources", where)
    runs = _by(_rows(con, "merge_runs", where, SEEDED), "source_id")
    lists = {
        table: _by(_rows(con, f"merge_{table}", where, SEEDED), "run_id") for table in ROW_LISTS
    }
    points = _by(_rows(con, "merge_benchmarks", where, SEEDED), "run_id")
    stats = _by(_rows(con, "merge_latency_stats", where, SEEDED), "load_point_id")
    published = _by(_rows(con, "merge_published_accuracy", where, SEEDED), "source_id")
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
                source=SourceRecord.model_validate({**source, "details": _json(source["details"])}),
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
            distributions[metric] = Distribution.model_validate(stat)
        load_points.append(LoadPoint.model_validate({**point, "stats": distributions}))
    return RunRecord.model_validate(
        {**run, "args": _json(run["args"]), **rows, "load_points": load_points}
    )


def _content(batch: Batch) -> list[str]:
    """What an import contributed, whatever the ids and the order: its runs and rows."""
    runs = []
    for run in batch.runs:
        data = run.model_dump(mode="json")
        for key in ("sync", "async_", "load_points", "accuracy", "similarity"):
            data[key] = sorted(data[key], key=lambda row: json.dumps(row, sort_keys=True))
        runs.append(json.dumps(data, sort_keys=True))
    published = [p.model_dump_json() for p in batch.published_accuracy]
    return sorted(runs) + sorted(published)


def _row_count(batch: Batch) -> int:
    """Rows as an import counts them (`store.ingest`): load points, not their distributions."""
    return sum(
        len(r.sync) + len(r.async_) + len(r.load_points) + len(r.accuracy) + len(r.similarity)
        for r in batch.runs
    ) + len(batch.published_accuracy)


def _summary(batch: Batch) -> str:
    runs = sorted(
        {f"{r.model} {r.format.value} {r.gpu or '-'}x{r.gpu_count or '-'}" for r in batch.runs}
    )
    return f"{len(batch.runs)} run(s) of {', '.join(runs) or 'no model'}, {_row_count(batch)} rows"


def _refuse_conflicts(ours: Imports, theirs: Imports, where: str) -> None:
    for sha, (_, batch) in theirs.batches.items():
        if sha not in ours.batches:
            continue
        source_id, mine = ours.batches[sha]
        if _content(mine) == _content(batch):
            continue
        here, there = _summary(mine), _summary(batch)
        differ = "the same runs with other values" if here == there else there
        raise ImportRejectedError(
            where,
            f"source {batch.source.name} (sha256 {sha[:12]}) is imported here as source "
            f"{source_id} with other rows (here: {here}; there: {differ}); "
            "nothing merged: remove one of them (`advisor catalog remove ID`) or import the file "
            "with the same flags in both",
        )


def _definitions(con: Connection, name: str, key: str, where: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in _rows(con, name, where)}


def _differ(ours: dict[str, Any], theirs: dict[str, Any], ignore: tuple[str, ...]) -> str | None:
    for field, value in ours.items():
        if field not in ignore and theirs.get(field) != value:
            return f"{field} {value!r} here, {theirs.get(field)!r} there"
    return None


def _models_to_add(
    con: Connection, other: Connection, batches: list[Batch], where: str
) -> list[dict[str, Any]]:
    """Refuse a model, GPU or use case the new imports use that the two catalogs define
    differently; return the models only the other catalog defines."""
    mine = {
        "model": _definitions(con, "merge_models", "model", "this catalog"),
        "gpu": _definitions(con, "merge_gpus", "gpu", "this catalog"),
        "use_case": _definitions(con, "merge_use_cases", "use_case", "this catalog"),
    }
    theirs = {
        "model": _definitions(other, "merge_models", "model", where),
        "gpu": _definitions(other, "merge_gpus", "gpu", where),
        "use_case": _definitions(other, "merge_use_cases", "use_case", where),
    }
    used: dict[str, set[str]] = {"model": set(), "gpu": set(), "use_case": set()}
    for batch in batches:
        for run in batch.runs:
            used["model"].add(run.model)
            used["gpu"].update([run.gpu] if run.gpu else [])
            used["use_case"].update(
                u for u in [run.use_case, *(r.use_case for r in [*run.sync, *run.async_])] if u
            )
    added = []
    for kind, names in used.items():
        for name in sorted(names):
            there = theirs[kind].get(name)
            here = mine[kind].get(name)
            if there is None or (here is None and kind != "model"):
                continue  # an alias, or one this catalog lacks: `write` names what is accepted
            if here is None:
                added.append(there)
                continue
            # An hf_id is another spelling, not part of the definition.
            difference = _differ(here, there, ignore=("hf_id",))
            if difference is not None:
                raise ImportRejectedError(
                    where,
                    f"{kind.replace('_', ' ')} {name} is defined differently in the two catalogs "
                    f"({difference}); nothing merged: its measurements would not mean the same",
                )
    return added


def _add_model(con: Connection, row: dict[str, Any], where: str) -> None:
    try:
        arch = Architecture.model_validate(
            {key: row[key] for key in Architecture.model_fields if key in row}
        )
    except ValidationError as exc:
        raise rejected_validation(Path(where), f"model {row['model']}", exc) from exc
    con.execute(
        sql("upsert_model"),
        {
            "model": row["model"],
            "hf_id": row["hf_id"],
            **arch.model_dump(),
            "quantized": row["quantized"],
            "source": f"merged from {where}",
        },
    )


def merge(con: Connection, path: Path) -> MergeResult:
    """Copy the imports of the catalog at `path` into `con`'s, all in one transaction: the same
    file (sha256) twice is kept once, conflicting rows or definitions are refused."""
    where = str(path)
    with open_other(path) as other:
        theirs = read_imports(other, where)
        ours = read_imports(con, "this catalog")
        _refuse_conflicts(ours, theirs, where)
        new = [batch for sha, (_, batch) in theirs.batches.items() if sha not in ours.batches]
        models = _models_to_add(con, other, new, where)
    present = [
        _merged(ours.batches[sha][0], batch)
        for sha, (_, batch) in theirs.batches.items()
        if sha in ours.batches
    ]
    try:
        with transaction(con):
            for model in models:
                _add_model(con, model, where)
            results = write(con, *new)
    except duckdb.Error as exc:
        raise CatalogError(
            f"{where}: the merge was refused ({first_line(exc)}); nothing merged"
        ) from exc
    added = []
    for batch, result in zip(new, results, strict=True):
        target = present if result.duplicate else added
        target.append(_merged(result.source_id, batch))
    return MergeResult(
        other=where,
        added=added,
        present=present,
        embedded_skipped=theirs.embedded,
        models_added=[m["model"] for m in models],
    )


def _merged(source_id: int, batch: Batch) -> MergedSource:
    return MergedSource(
        id=source_id,
        kind=batch.source.kind,
        name=batch.source.name,
        sha256=batch.source.sha256,
        runs=len(batch.runs),
        rows=_row_count(batch),
    )
