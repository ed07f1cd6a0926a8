"""Terminal and file rendering of tabular results: rich tables for people, JSON/CSV for programs."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table


def plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def as_records(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def print_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None else plain(v) for v in row] for row in rows])


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(plain(value))


def print_table(
    console: Console, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str = ""
) -> None:
    table = Table(title=title or None, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(cell(v) for v in row))
    console.print(table)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}g}"
    return str(value)


def _usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:.3g}" if value < 1 else f"${value:,.2f}"


def option_row(option: Any, sync: bool) -> list[str]:
    o = option if isinstance(option, dict) else option.model_dump(mode="json")
    key = "latency_s" if sync else "max_qps"
    perf = f"{_fmt(o.get(key))} [{_fmt(o.get(key + '_lo'))}-{_fmt(o.get(key + '_hi'))}]"
    layout = f"{o['gpu_count']} x {o['gpu']}"
    if (o.get("replicas") or 1) > 1:
        layout += f" ({o['replicas']}x TP{o['tensor_parallel_size']})"
    recovery = o.get("recovery_pct")
    return [
        o["format"],
        layout,
        perf,
        f"{_fmt(o.get('ttft_ms'), 4)} / {_fmt(o.get('itl_ms'), 3)}",
        _usd(o.get("usd_per_query")),
        _usd(o.get("fleet_usd_per_hour"))
        if o.get("fleet_usd_per_hour")
        else _usd(o.get("usd_per_hour")),
        "-" if recovery is None else f"{recovery:.2f}%",
        o.get("label") or "-",
    ]


def print_advice(console: Console, advice: Any, hints: Mapping[str, str] | None = None) -> None:
    """The answer for people. `hints` (rejection reason -> what to do) come from the caller:
    only it knows its own flags."""
    hints = hints or {}
    query = advice.query
    sync = query["mode"] == "sync"
    title = (
        f"{query['model']} | {query['prefill_tokens']} in / {query['decode_tokens']} out"
        f" | {query['mode']}"
    )
    limits = [
        f"TTFT < {query['ttft_limit_ms']:g} ms" if query.get("ttft_limit_ms") else "",
        f"ITL < {query['itl_limit_ms']:.4g} ms" if query.get("itl_limit_ms") else "",
        f"latency < {query['latency_limit_s']:g} s" if query.get("latency_limit_s") else "",
        f"recovery >= {query['min_recovery_pct']:g}% ({query['suite']})"
        if query.get("min_recovery_pct")
        else "",
        f"{query['qps']:g} QPS" if query.get("qps") else "",
    ]
    console.print(f"[bold]{title}[/]  " + ", ".join(x for x in limits if x), highlight=False)
    if query.get("defaults"):
        console.print(f"[dim]defaults: {'; '.join(query['defaults'])}[/]", highlight=False)
    header = [
        "format",
        "GPUs",
        "latency (80%)" if sync else "max QPS (80%)",
        "TTFT / ITL ms",
        "USD/query",
        "USD/hour",
        "recovery",
        "label",
    ]
    if advice.recommendation is not None:
        rec = advice.recommendation
        table = Table(title="Recommendation", header_style="bold", title_style="bold green")
        for column in header:
            table.add_column(column)
        table.add_row(*option_row(rec, sync))
        for option in advice.alternatives[:8]:
            table.add_row(*option_row(option, sync), style="dim")
        console.print(table)
        console.print(
            f"[bold]serve:[/]   {rec['vllm_serve_command']}", highlight=False, soft_wrap=True
        )
        console.print(
            f"[bold]confirm:[/] {rec['guidellm_command']}", highlight=False, soft_wrap=True
        )
    else:
        console.print("[bold red]Nothing meets these targets.[/] Closest misses:")
    cheaper = [r for r in advice.rejected if r.cheaper_than_recommendation]
    shown = advice.closest_misses if advice.recommendation is None else cheaper
    if shown:
        table = Table(
            title="Cheaper options ruled out" if advice.recommendation else None,
            header_style="bold",
        )
        for column in ["format", "GPUs", "USD/query", "why"]:
            table.add_column(column, overflow="fold")
        for r in shown:
            hint = hints.get(r.reason)
            detail = f"{r.detail}; {hint}" if hint else r.detail
            table.add_row(r.format.value, f"{r.gpu_count} x {r.gpu}", _usd(r.usd_per_query), detail)
        console.print(table)
    blocked: dict[str, int] = {}
    for r in advice.rejected:
        if r.blocked is not None:
            blocked[r.reason] = blocked.get(r.reason, 0) + 1
    if blocked:
        words = {
            "memory": "do not fit in memory",
            "unsupported": "need tensor cores the GPU lacks",
            "no_price": "have no price",
        }
        parts = [f"{n} {words.get(reason, reason)}" for reason, n in sorted(blocked.items())]
        console.print(
            f"[dim]Not evaluated: {', '.join(parts)} (details in --json).[/]", highlight=False
        )
        for reason in sorted(blocked):
            if reason in hints:
                console.print(
                    f"[dim]For those that {words.get(reason, reason)}: {hints[reason]}.[/]",
                    highlight=False,
                )
