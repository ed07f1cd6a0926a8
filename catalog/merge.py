"""Bring another catalog's imports into this one (`advisor catalog merge`).

Each import of the other catalog is read back into the batch that would import it
(`catalog.readback`, validated as an import is) and written through `store.write`, after the
model definitions it needs, all in one transaction; `store.write` resolves the names and checks
each format against the GPU as for an import. An import is identified by its file's sha256: one
already here is skipped when its rows are the same and refused when they differ; a model, GPU or
use case the two catalogs define differently is refused too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
from pydantic import Field, ValidationError

from advisor.errors import CatalogError, ImportRejectedError, UnknownNameError
from advisor.structure import Architecture
from advisor.vocabulary import Frozen
from catalog.db import Connection, first_line, transaction
from catalog.importers.common import rejected_validation
from catalog.readback import Imports, open_other, read_imports, read_rows, row_count
from catalog.records import Batch
from catalog.sqlfiles import sql
from catalog.store import Names, write


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


def _summary(batch: Batch) -> str:
    runs = sorted(
        {f"{r.model} {r.format.value} {r.gpu or '-'}x{r.gpu_count or '-'}" for r in batch.runs}
    )
    return f"{len(batch.runs)} run(s) of {', '.join(runs) or 'no model'}, {row_count(batch)} rows"


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
    return {row[key]: row for row in read_rows(con, name, where)}


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
            cases = [
                run.use_case,
                *(r.use_case for r in run.sync),
                *(r.use_case for r in run.async_),
            ]
            used["use_case"].update(u for u in cases if u)
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
    _refuse_taken_spellings(con, added, where)
    return added


def _refuse_taken_spellings(con: Connection, models: list[dict[str, Any]], where: str) -> None:
    """A model brought in must not take a Hugging Face id that names another model here."""
    names = Names(con)
    for row in models:
        if not row["hf_id"]:
            continue
        try:
            taken = names.resolve("model", row["hf_id"])
        except UnknownNameError:
            continue
        raise ImportRejectedError(
            where,
            f"model {row['model']} has the Hugging Face id {row['hf_id']}, which names {taken} "
            "here; nothing merged: rename one of them (`advisor catalog add-model --name`)",
        )


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
    added: list[MergedSource] = []
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
        rows=row_count(batch),
    )
