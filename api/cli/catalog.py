"""`advisor catalog ...`: where the catalog is, what it covers, read-only SQL, imports of real
tool output and their removal, user models, Parquet export, and merging another catalog."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from advisor.architecture import architecture_from_config, quantized_format
from advisor.errors import InvalidInputError
from api.cli.shell import err, opened, out
from api.render import as_records, plain, print_csv, print_json, print_table
from catalog import merge, queries, sandbox, store
from catalog.db import Connection
from catalog.importers import guidellm, lm_eval, measurements
from catalog.importers.common import ImportOptions
from catalog.model_config import load_config
from catalog.records import Batch
from catalog.store import Names, ingest


@click.group("catalog")
def catalog_group() -> None:
    """Query and feed the measurement catalog (DuckDB)."""


@catalog_group.command("path")
@click.pass_context
def catalog_path_cmd(ctx: click.Context) -> None:
    """Print the catalog file's path (building it if it does not exist)."""
    with opened(ctx, read_only=True):
        pass
    click.echo(ctx.obj.catalog_path)


@catalog_group.command("info")
@click.option("--model", help="Only this model (id, alias or HF id).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of tables.")
@click.pass_context
def catalog_info(ctx: click.Context, model: str | None, as_json: bool) -> None:
    """Coverage: which models x formats x GPUs are measured, and row counts."""
    with opened(ctx, read_only=True) as con:
        show_coverage(con, model, as_json)


def show_coverage(con: Connection, model: str | None, as_json: bool) -> None:
    if model is not None:
        model = Names(con).resolve("model", model)
    info = queries.coverage(con, model)
    perf_cols, perf_rows = info["performance"]
    acc_cols, acc_rows = info["accuracy"]
    if as_json:
        print_json(
            {
                "model": model,
                "counts": info["counts"],
                "performance": as_records(perf_cols, perf_rows),
                "accuracy": as_records(acc_cols, acc_rows),
            }
        )
        return
    if model is None:
        print_table(out, ["what", "rows"], list(info["counts"].items()), "Catalog")
    print_table(out, perf_cols, perf_rows, "Performance cells (model x format x GPU x count)")
    print_table(out, acc_cols, acc_rows, "Accuracy scores (model x format)")


@catalog_group.command("sql")
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of row objects.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row.")
@click.option(
    "--limit",
    "row_limit",
    default=sandbox.DEFAULT_ROW_LIMIT,
    show_default=True,
    type=click.IntRange(1, sandbox.MAX_ROW_LIMIT),
    help="Rows printed at most (a note on stderr says when there were more).",
)
@click.pass_context
def catalog_sql(
    ctx: click.Context, query: str, as_json: bool, as_csv: bool, row_limit: int
) -> None:
    """Run one read-only SQL statement on the catalog's tables and views, e.g.
    "SELECT * FROM sync_latency". Accepted: SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN;
    no files, settings or extensions can be reached."""
    if as_json and as_csv:
        raise InvalidInputError("choose one of --json and --csv")
    with opened(ctx, read_only=True):
        pass  # built or migrated first, if it has to be; the sandbox opens it on its own
    result = sandbox.read_only_query(ctx.obj.catalog_path, query, row_limit)
    if as_json:
        print_json(finite(as_records(result.columns, result.rows)))
    elif as_csv:
        print_csv(result.columns, result.rows)
    else:
        print_table(out, result.columns, result.rows)
    if result.truncated:
        err.print(
            f"showing the first {row_limit:,} rows; the statement has more "
            f"(--limit up to {sandbox.MAX_ROW_LIMIT:,})",
            highlight=False,
        )


def finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they are written as null, inside lists and structs too."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


@catalog_group.group("import")
def import_group() -> None:
    """Add real tool output (GuideLLM reports, lm-eval results) and published measurements to
    the catalog."""


def run_import(
    ctx: click.Context,
    parse: Callable[[Path, ImportOptions], Batch],
    files: tuple[Path, ...],
    options: ImportOptions,
    replace: bool,
) -> None:
    # Parse every file before writing: one bad file and nothing is imported.
    batches = [parse(path, options) for path in files]
    with opened(ctx, read_only=False) as con:
        results = ingest(con, *batches, replace=replace)
    for path, result in zip(files, results, strict=True):
        if result.duplicate:
            click.echo(f"{path}: already in the catalog (source {result.source_id}); skipped")
        else:
            click.echo(
                f"{path}: imported {result.rows} rows in {result.runs} run(s) "
                f"(source {result.source_id})"
            )


files_argument = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
replace_option = click.option(
    "--replace", is_flag=True, help="Replace rows of a file imported before instead of skipping."
)
model_option = click.option("--model", help="Model id, alias or HF id (default: from the file).")
format_option = click.option(
    "--format", "fmt", help="bf16, fp8, int8 or int4 (default: from the model name)."
)
method_option = click.option("--method", help="Quantization algorithm, e.g. gptq or awq.")
engine_version_option = click.option(
    "--engine-version",
    help="vLLM version the measurements were taken with (default: what the file records).",
)


@import_group.command("guidellm")
@files_argument
@model_option
@format_option
@click.option("--gpu", help="GPU type, e.g. h100 (default: the report's `gpu` label).")
@click.option("--gpus", "gpu_count", type=click.IntRange(min=1), help="GPU count.")
@click.option("--use-case", help="Use case id, e.g. rag (default: the report's label).")
@method_option
@engine_version_option
@replace_option
@click.pass_context
def import_guidellm(
    ctx: click.Context,
    files: tuple[Path, ...],
    model: str | None,
    fmt: str | None,
    gpu: str | None,
    gpu_count: int | None,
    use_case: str | None,
    method: str | None,
    engine_version: str | None,
    replace: bool,
) -> None:
    """Import GuideLLM reports (JSON or YAML; GuideLLM 0.2 to 0.8)."""
    options = ImportOptions(
        model=model,
        format=fmt,
        gpu=gpu,
        gpu_count=gpu_count,
        use_case=use_case,
        method=method,
        engine_version=engine_version,
    )
    run_import(ctx, guidellm.parse_result, files, options, replace)


@import_group.command("measurements")
@files_argument
@engine_version_option
@replace_option
@click.pass_context
def import_measurements(
    ctx: click.Context, files: tuple[Path, ...], engine_version: str | None, replace: bool
) -> None:
    """Import published tables or spreadsheets as CSV, one measured number a row.

    Required columns: model, format, gpu, gpu_count, prefill_tokens, decode_tokens, metric,
    value. Optional: use_case, engine, engine_version, ttft_limit_ms, itl_limit_ms, source,
    notes. metric: latency_s (synchronous, end to end), ttft_ms or itl_ms (synchronous), or
    max_qps (with its limits; empty limits: unconstrained). The model must be in the catalog
    (`advisor catalog add-model`).
    """
    options = ImportOptions(engine_version=engine_version)
    run_import(ctx, measurements.parse_result, files, options, replace)


@import_group.command("lm-eval")
@files_argument
@model_option
@format_option
@click.option("--suite", help="Suite name for the scores (default: the lm-eval group).")
@method_option
@replace_option
@click.pass_context
def import_lm_eval(
    ctx: click.Context,
    files: tuple[Path, ...],
    model: str | None,
    fmt: str | None,
    suite: str | None,
    method: str | None,
    replace: bool,
) -> None:
    """Import lm-eval results files (lm-eval 0.4)."""
    options = ImportOptions(model=model, format=fmt, suite=suite, method=method)
    run_import(ctx, lm_eval.parse_result, files, options, replace)


@catalog_group.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of source objects.")
@click.pass_context
def catalog_sources(ctx: click.Context, as_json: bool) -> None:
    """List where the catalog's rows come from: the embedded study tables and model cards, and
    every import (id, file, sha256, when, rows); `catalog remove ID` takes an import out."""
    with opened(ctx, read_only=True) as con:
        found = store.sources(con)
    if as_json:
        print_json([{k: plain(v) for k, v in source.items()} for source in found])
        return
    columns = ["id", "kind", "file", "sha256", "imported_at", "runs", "rows", "removable"]
    rows = [
        [*(s[c] for c in columns[:3]), s["sha256"][:12], *(s[c] for c in columns[4:])]
        for s in found
    ]
    print_table(out, columns, rows, "Sources")


@catalog_group.command("remove")
@click.argument("source_id", type=int)
@click.pass_context
def catalog_remove(ctx: click.Context, source_id: int) -> None:
    """Take the import SOURCE_ID (see `catalog sources`) out of the catalog with every row it
    added, in one transaction; the next answer no longer uses them."""
    with opened(ctx, read_only=False) as con:
        removed = store.remove_source(con, source_id)
    click.echo(
        f"removed source {removed['id']} ({removed['file']}): {removed['rows']} rows in "
        f"{removed['runs']} run(s)"
    )


@catalog_group.command("add-model")
@click.argument("config", type=click.Path(exists=True, path_type=Path))
@click.option("--name", help="Model id (default: the model folder's name, lower-case).")
@click.option("--hf-id", help="Hugging Face id, accepted as an alias.")
@click.pass_context
def add_model(ctx: click.Context, config: Path, name: str | None, hf_id: str | None) -> None:
    """Add a model from a Hugging Face config.json (a file or a model folder)."""
    data = load_config(config)
    arch = architecture_from_config(data, str(config))
    quantized = quantized_format(data, str(config))
    folder = config if config.is_dir() else config.resolve().parent
    model = (name or folder.name).strip().lower()
    if not model:
        raise InvalidInputError("cannot derive a model name from the path; pass --name")
    with opened(ctx, read_only=False) as con:
        queries.add_model(con, model, arch, hf_id, str(config.resolve()), quantized)
    click.echo(
        f"added {model}: {arch.architecture}, {arch.params_b:g}B parameters, {arch.layers} layers, "
        f"hidden {arch.hidden_size}, {arch.heads} heads / {arch.kv_heads} KV heads"
    )


@catalog_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def catalog_export(ctx: click.Context, directory: Path) -> None:
    """Write the public views, reference and measurement tables as Parquet files into
    DIRECTORY (`catalog merge DIRECTORY` reads them back into another catalog)."""
    with opened(ctx, read_only=True) as con:
        written = queries.export(con, directory)
    for path in written:
        click.echo(path)


@catalog_group.command("merge")
@click.argument("other", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of what was done.")
@click.pass_context
def catalog_merge(ctx: click.Context, other: Path, as_json: bool) -> None:
    """Bring in the imports of another catalog: OTHER is its DuckDB file (read-only) or a folder
    written by `catalog export`. A file imported in both (same sha256) is kept once, the embedded
    study and card rows are not copied, and an import or a model, GPU or use case that differs
    is refused: all in one transaction. Merging twice changes nothing."""
    with opened(ctx, read_only=False) as con:
        if Path(ctx.obj.catalog_path).expanduser().resolve() == other.expanduser().resolve():
            raise InvalidInputError(f"{other} is this catalog; name another one to merge")
        result = merge.merge(con, other)
    if as_json:
        print_json(
            {
                **result.model_dump(mode="json"),
                "sources_added": len(result.added),
                "sources_present": len(result.present),
                "runs_added": result.runs_added,
                "rows_added": result.rows_added,
            }
        )
        return
    for source in result.added:
        click.echo(
            f"added {source.kind}:{source.name}: {source.rows} rows in {source.runs} run(s) "
            f"(source {source.id})"
        )
    for source in result.present:
        click.echo(f"already present {source.kind}:{source.name} (source {source.id}); skipped")
    models = f"; models added: {', '.join(result.models_added)}" if result.models_added else ""
    click.echo(
        f"merged {result.other}: {len(result.added)} source(s) added ({result.rows_added} rows "
        f"in {result.runs_added} run(s)), {len(result.present)} already present, "
        f"{result.embedded_skipped} embedded left out{models}"
    )
