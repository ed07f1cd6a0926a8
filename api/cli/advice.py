"""`advise` and `advisor predict`: the answers of the fitted models, for people (tables) and
programs (JSON, CSV)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from advisor.data import Snapshot
from advisor.errors import AdvisorError, InvalidInputError
from advisor.hardware import PriceList
from advisor.query import (
    DEFAULT_MIN_RECOVERY_PCT,
    DEFAULT_SUITE,
    DEFAULT_USE_CASE,
    MAX_GPUS,
    STUDY_ITL_LIMIT_MS,
    STUDY_TTFT_LIMIT_MS,
)
from advisor.service import PredictRequest, Query, predict, validated
from advisor.vocabulary import DEFAULT_PERCENTILE, PERCENTILES, Arrivals
from api.cli.shell import CONTEXT_SETTINGS, catalog_option, fail, message_of, out, settings_from
from api.render import print_advice, print_csv, print_json, print_table
from api.runtime import load_advisor, read_prices
from api.settings import Settings
from catalog.model_config import local_models

# What the command line can tell a person to do about a rejection (the core names no flags).
HINTS = {
    "no_price": "pass --prices FILE with a row gpu,gpu_count,usd_per_hour for it (merged over "
    "the price list)"
}
# The limits' flags keep their short names; an error names the value as its flag spells it.
FLAG_WORDS = {
    "gpu_types": "gpus",
    "ttft_limit_ms": "ttft_ms",
    "itl_limit_ms": "itl_ms",
    "latency_limit_s": "latency_s",
    "headroom_pct": "headroom",
}


def query_of(fields: dict[str, Any]) -> Query:
    """The query the flags ask, or an error naming the flag's word for the bad value. A flag
    not given stays unset (the answer's defaults line names what was defaulted)."""
    fields = {
        k: v for k, v in fields.items() if v is not None or k not in ("percentile", "arrivals")
    }
    try:
        query: Query = validated(Query, fields)
    except InvalidInputError as exc:
        field, sep, rest = str(exc).partition(": ")
        # pydantic's words for a validator's own message, which says it all already.
        plain = rest.removeprefix("value error, ")
        if sep and (field in FLAG_WORDS or plain != rest):
            raise InvalidInputError(f"{FLAG_WORDS.get(field, field)}: {plain}") from exc
        raise
    return query


PRICE_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def price_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--price-list, --prices and --prices-only, as `advise` and `predict` take them."""
    for option in reversed(
        [
            click.option(
                "--price-list",
                "price_list",
                metavar="NAME",
                help="A shipped price list by name (default: the median market list; an unknown "
                "name lists the others).",
            ),
            click.option(
                "--prices",
                "prices_file",
                type=PRICE_FILE,
                help="Your prices (CSV: gpu, gpu_count, usd_per_hour or usd_per_gpu_hour; or "
                "YAML), merged over the price list: your rows win per GPU and GPU count.",
            ),
            click.option(
                "--prices-only",
                "prices_only",
                type=PRICE_FILE,
                help="Your prices alone, instead of any shipped list.",
            ),
        ]
    ):
        command = option(command)
    return command


def chosen_prices(
    snapshot: Snapshot,
    price_list: str | None,
    prices_file: Path | None,
    prices_only: Path | None,
) -> PriceList:
    """The prices the flags ask for: a shipped list, yours merged over it, or yours alone."""
    if prices_only is not None and (prices_file is not None or price_list is not None):
        raise InvalidInputError(
            "--prices-only replaces the price list: give it alone, or use --prices FILE to "
            "merge your prices over --price-list"
        )
    own = prices_only or prices_file
    return snapshot.prices_for(
        price_list, read_prices(own) if own else None, replace=prices_only is not None
    )


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--model", required=True, help="Model id, alias (8b, 70b, 405b), HF id, or config.json."
)
@click.option(
    "--use-case", help=f"A use case of the study, e.g. rag (default: {DEFAULT_USE_CASE})."
)
@click.option("--prefill", type=int, help="Prompt tokens (with --decode, instead of --use-case).")
@click.option("--decode", type=int, help="Output tokens.")
@click.option(
    "--gpu",
    "gpu_types",
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
@click.option(
    "--ttft-ms",
    "ttft_limit_ms",
    type=float,
    help=f"TTFT limit (async default: {STUDY_TTFT_LIMIT_MS:g}, the study's).",
)
@click.option(
    "--itl-ms",
    "itl_limit_ms",
    type=float,
    help=f"ITL limit (async default: {STUDY_ITL_LIMIT_MS:g}, the study's).",
)
@click.option(
    "--latency-s",
    "latency_limit_s",
    type=float,
    help="End-to-end latency limit, s (async: at the operating point, at --percentile).",
)
@click.option(
    "--percentile",
    type=float,
    show_default=f"{DEFAULT_PERCENTILE:g}",
    metavar="[" + "|".join(f"{p:g}" for p in PERCENTILES) + "]",
    help="Async: the percentile of TTFT, ITL and latency the limits apply to.",
)
@click.option(
    "--arrivals",
    type=click.Choice([a.value for a in Arrivals]),
    show_default=Arrivals.POISSON.value,
    help="Async: how requests arrive (GuideLLM's poisson or constant rate).",
)
@click.option(
    "--headroom",
    "headroom_pct",
    type=float,
    metavar="PCT",
    help="With --qps: size each deployment at least PCT % below its predicted max QPS "
    "(default: size on the 80% interval's low end).",
)
@click.option(
    "--min-recovery",
    type=float,
    help=f"Accuracy floor, % of BF16 (default: {DEFAULT_MIN_RECOVERY_PCT:g} on {DEFAULT_SUITE}; "
    "0 turns it off).",
)
@click.option(
    "--suite",
    help="Suite or task of the floor: leaderboard_v1, leaderboard_v2, "
    "real_world, or a task such as mmlu or arena_hard.",
)
@click.option("--qps", type=float, help="Target load: size the fleet and price it per hour.")
@click.option(
    "--max-gpus", type=int, default=MAX_GPUS, show_default=True, help="Most GPUs per deployment."
)
@click.option(
    "--engine-version",
    help="vLLM version to predict for (default: the newest in the catalog; measured cells are "
    "then shown on the engine they were measured on).",
)
@price_options
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
    gpu_types: tuple[str, ...],
    formats: tuple[str, ...],
    mode: str,
    ttft_limit_ms: float | None,
    itl_limit_ms: float | None,
    latency_limit_s: float | None,
    percentile: float | None,
    arrivals: str | None,
    headroom_pct: float | None,
    min_recovery: float | None,
    suite: str | None,
    qps: float | None,
    max_gpus: int,
    engine_version: str | None,
    price_list: str | None,
    prices_file: Path | None,
    prices_only: Path | None,
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
        query = query_of(
            {
                "model": model,
                "use_case": use_case,
                "prefill_tokens": prefill,
                "decode_tokens": decode,
                "gpu_types": gpu_types,
                "formats": formats,
                "mode": mode,
                "ttft_limit_ms": ttft_limit_ms,
                "itl_limit_ms": itl_limit_ms,
                "latency_limit_s": latency_limit_s,
                "percentile": percentile,
                "arrivals": arrivals,
                "headroom_pct": headroom_pct,
                "min_recovery": min_recovery,
                "suite": suite,
                "qps": qps,
                "max_gpus": max_gpus,
                "engine_version": engine_version,
            }
        )
        advisor = load_advisor(settings)
        prices = chosen_prices(advisor.snapshot, price_list, prices_file, prices_only)
        advice = advisor.advise(query, prices, local_models(model))
        if report_path is not None:
            from api.report import write_report

            write_report(advice.model_dump(mode="json"), report_path)
    except AdvisorError as exc:
        # Standalone, no group maps the error: this command does it itself.
        fail(message_of(exc))
    if as_json:
        print_json(advice.model_dump(mode="json"))
    else:
        print_advice(out, advice, HINTS)


@click.command("predict")
@click.option("--model", help="Model id, alias, HF id, or config.json.")
@click.option("--format", "fmt", help="bf16, fp8, int8 or int4.")
@click.option("--gpu", help="GPU type.")
@click.option("--gpus", "gpu_count", type=int, help="GPU count.")
@click.option("--prefill", type=int, help="Prompt tokens.")
@click.option("--decode", type=int, help="Output tokens.")
@click.option("--mode", type=click.Choice(["sync", "async"]), default="sync", show_default=True)
@click.option(
    "--ttft-ms",
    "ttft_limit_ms",
    type=float,
    default=STUDY_TTFT_LIMIT_MS,
    show_default=True,
    help="Async TTFT limit.",
)
@click.option(
    "--itl-ms",
    "itl_limit_ms",
    type=float,
    default=STUDY_ITL_LIMIT_MS,
    show_default=True,
    help="Async ITL limit.",
)
@click.option(
    "--latency-s",
    "latency_limit_s",
    type=float,
    help="Async end-to-end latency limit at the operating point.",
)
@click.option(
    "--percentile",
    type=click.Choice(["50", "90", "95", "99"]),
    default="99",
    show_default=True,
    help="Async: the percentile the limits apply to.",
)
@click.option(
    "--arrivals",
    type=click.Choice(["poisson", "constant"]),
    default="poisson",
    show_default=True,
    help="Async: how requests arrive.",
)
@click.option(
    "--input",
    "input_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of many configurations: model, format, gpu, gpu_count, prefill_tokens, "
    "decode_tokens, mode (optional: ttft_limit_ms, itl_limit_ms, latency_limit_s, "
    "percentile, arrivals).",
)
@click.option(
    "--output",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the predictions as CSV (default: standard output).",
)
@price_options
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
    ttft_limit_ms: float,
    itl_limit_ms: float,
    latency_limit_s: float | None,
    percentile: str,
    arrivals: str,
    input_file: Path | None,
    output_file: Path | None,
    price_list: str | None,
    prices_file: Path | None,
    prices_only: Path | None,
    as_json: bool,
) -> None:
    """Predict TTFT, ITL, latency, max QPS and cost for one configuration or a CSV of many.

    In async mode TTFT, ITL and latency are at the operating point (the max QPS within the
    limits) at the limits' percentile; ttft_unloaded_ms and itl_unloaded_ms are an idle
    replica's.
    """
    if input_file is not None:
        rows = read_rows(input_file)
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
                "ttft_limit_ms": ttft_limit_ms,
                "itl_limit_ms": itl_limit_ms,
                "latency_limit_s": latency_limit_s,
                "percentile": float(percentile),
                "arrivals": arrivals,
            }
        ]
    requests = []
    for number, row in enumerate(rows, start=1):
        try:
            requests.append(validated(PredictRequest, row))
        except InvalidInputError as exc:
            where = f"{input_file} row {number}: " if input_file else ""
            raise InvalidInputError(f"{where}{exc}") from exc
    advisor = load_advisor(ctx.obj)
    prices = chosen_prices(advisor.snapshot, price_list, prices_file, prices_only)
    models = local_models(*(r.model for r in requests))
    predictions = predict(advisor, requests, prices, models)
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


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The configurations of a CSV file; empty cells are missing values, mode defaults to sync."""
    with path.open(newline="") as f:
        raw = list(csv.DictReader(f))
    rows: list[dict[str, Any]] = [
        {k: (v if v not in ("", None) else None) for k, v in r.items() if k} for r in raw
    ]
    for row in rows:
        row["mode"] = row.get("mode") or "sync"
    return rows
