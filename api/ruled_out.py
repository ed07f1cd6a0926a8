"""The options an answer did not choose, for people: the cheaper ones the targets ruled out
(with no winner, the closest misses), those without a price, those not evaluated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from api.figures import fixed, fmt, format_of, layout, usd

RULED_OUT_ROWS = 8


def _missed_by(r: Any) -> str:
    """The constraint that ruled an option out, and by how much (accuracy: how far short)."""
    if r.excess_pct is None:
        return str(r.reason)
    sign = "-" if r.reason == "accuracy" else "+"
    return f"{r.reason} {sign}{fixed(r.excess_pct, 2)}%"


def print_ruled_out(console: Console, advice: Any, hints: Mapping[str, str]) -> None:
    """Under a winner, the cheaper options the targets ruled out; with none, the closest
    misses: each with its own figures, the constraint and by how much it misses."""
    if advice.recommendation is not None:
        shown = [r for r in advice.rejected if r.cheaper_than_recommendation]
        title = "Cheaper options ruled out"
    else:
        # Those only a price keeps out are the "Not priced" table's: not listed twice.
        shown = [r for r in advice.closest_misses if r.reason != "no_price"]
        title = "Closest misses"
        if len(shown) < len(advice.closest_misses):
            return
    if not shown:
        if advice.recommendation is not None:
            console.print("[dim]No cheaper option was ruled out by the targets.[/]")
        return
    table = Table(title=title, header_style="bold", title_style="bold")
    # The figure the search ranks by: with a target load, the fleet's price per hour.
    fleet = bool(advice.query.get("qps"))
    for header in ["format", "GPUs", "misses", "fleet USD/h" if fleet else "USD/query"]:
        table.add_column(header, no_wrap=True)
    table.add_column("why", overflow="fold", ratio=1)
    for r in shown[:RULED_OUT_ROWS]:
        hint = hints.get(r.reason)
        o = r.model_dump(mode="json")
        table.add_row(
            format_of(o),
            layout(o),
            _missed_by(r),
            usd(r.fleet_usd_per_hour if fleet else r.usd_per_query),
            f"{r.detail}; {hint}" if hint else r.detail,
        )
    console.print(table)
    more = len(shown) - RULED_OUT_ROWS
    if more > 0:
        console.print(f"[dim]{more} more in --json (rejected).[/]", highlight=False)


def print_not_priced(console: Console, advice: Any, hints: Mapping[str, str]) -> None:
    """The options that were predicted but have no price: a table, and how to add one."""
    unpriced = [r for r in advice.rejected if r.reason == "no_price"]
    if not unpriced:
        return
    # Those that would meet the targets first, then by GPU count.
    unpriced.sort(key=lambda r: ("would also miss" in r.detail, r.gpu_count, r.gpu))
    sync = advice.query.get("mode") == "sync"
    figure = "latency s" if sync else "max QPS"
    table = Table(
        title=f"Not priced in {advice.query.get('price_list')}",
        header_style="bold",
        title_style="bold yellow",
    )
    for column in ["format", "GPUs", figure, "label", "why"]:
        table.add_column(column, overflow="fold")
    for r in unpriced[:8]:
        value = r.latency_s if sync else r.max_qps
        table.add_row(
            r.format.value,
            f"{r.gpu_count} x {r.gpu}",
            fmt(value),
            str(r.label or "-"),
            r.detail.removeprefix("not priced: "),
        )
    console.print(table)
    more = len(unpriced) - 8
    tail = f" ({more} more in --json)" if more > 0 else ""
    hint = hints.get("no_price")
    gpus = ", ".join(sorted({r.gpu for r in unpriced}))
    console.print(
        f"[yellow]Not priced: {gpus}{tail}.[/]" + (f" To price them, {hint}." if hint else ""),
        highlight=False,
    )


def print_not_evaluated(console: Console, advice: Any, hints: Mapping[str, str]) -> None:
    """How many options could not be evaluated, and why (they do not fit, or do not run)."""
    blocked: dict[str, int] = {}
    for r in advice.rejected:
        if r.blocked is not None and r.reason != "no_price":
            blocked[r.reason] = blocked.get(r.reason, 0) + 1
    if blocked:
        words = {
            "memory": "do not fit in memory",
            "unsupported": "do not run on the GPU (vLLM)",
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
