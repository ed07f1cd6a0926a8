"""Terminal and file rendering of tabular results: rich tables for people, JSON/CSV for programs."""

from __future__ import annotations

import csv
import json
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from api.figures import fixed, fmt, format_of, layout, usd
from api.ruled_out import print_not_evaluated, print_not_priced, print_ruled_out
from api.words import percentile_word, targets_line


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
        return fixed(value, 4)
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


ALWAYS = 100  # the `keep` of columns no console is too narrow for


@dataclass(frozen=True)
class Column:
    """A column of the advice table; on a narrow console the lowest `keep` is hidden first."""

    header: str
    cell: Callable[[dict[str, Any]], str]
    keep: int = ALWAYS


def _interval(o: Mapping[str, Any], key: str, digits: int = 3) -> str:
    """value [low-high]; a missing high end of a latency under load means that end of the
    interval would not keep up with the load: unbounded."""
    low, high = fmt(o.get(key + "_lo"), digits), fmt(o.get(key + "_hi"), digits)
    if o.get(key) is not None and o.get(key + "_lo") is not None and o.get(key + "_hi") is None:
        high = "unbounded"
    return f"{fmt(o.get(key), digits)} [{low}-{high}]"


def _recovery(o: dict[str, Any]) -> str:
    recovery = o.get("recovery_pct")
    return "-" if recovery is None else f"{recovery:.2f}%"


def _ttft_itl(o: dict[str, Any]) -> str:
    return f"{fmt(o.get('ttft_ms'), 4)} / {fmt(o.get('itl_ms'), 3)}"


def _chance(probability: float) -> str:
    # Rounding would turn a near-certainty into a promise: 0.996 is not 100%.
    if 0.99 < probability < 1:
        return ">99%"
    if 0 < probability < 0.01:
        return "<1%"
    return f"{100 * probability:.0f}%"


def advice_columns(query: Mapping[str, Any], options: Sequence[dict[str, Any]]) -> list[Column]:
    """The advice table's columns for this answer: the operating point's only where the
    options carry one, the fleet's only for a target load."""
    sync = query.get("mode") == "sync"

    def has(key: str) -> bool:
        return any(o.get(key) is not None for o in options)

    columns = [Column("format", format_of), Column("GPUs", layout)]
    if sync:
        columns += [
            Column("latency (80%)", lambda o: _interval(o, "latency_s"), 90),
            Column("TTFT / ITL ms", _ttft_itl, 60),
        ]
    else:
        p = percentile_word(query)
        operating, sized = has("operating_qps"), bool(query.get("qps"))
        # Without a target load the operating point is the max QPS: its interval says more.
        columns.append(
            Column("max QPS (80%)", lambda o: _interval(o, "max_qps"), 60 if sized else 80)
        )
        if operating:
            columns.append(
                Column("QPS @ op", lambda o: fmt(o.get("operating_qps")), 80 if sized else 55)
            )
        # Without an operating point the figures are those of one request on an idle server.
        columns.append(
            Column(f"TTFT / ITL {p} ms" if operating else "TTFT / ITL ms", _ttft_itl, 90)
        )
        if query.get("latency_limit_s"):
            columns.append(Column(f"latency {p} s", lambda o: fmt(o.get("latency_s")), 75))
        if has("binding_constraint"):
            columns.append(
                Column("limited by", lambda o: str(o.get("binding_constraint") or "-"), 50)
            )
    if query.get("qps"):
        columns += [
            Column("deployments", lambda o: fmt(o.get("deployments")), 88),
            Column("GPUs total", lambda o: fmt(o.get("fleet_gpus")), 86),
            Column("fleet USD/h", lambda o: usd(o.get("fleet_usd_per_hour"))),
            Column("USD/M out", lambda o: usd(o.get("usd_per_million_output_tokens")), 84),
            Column("USD/query", lambda o: usd(o.get("usd_per_query")), 35),
        ]
    else:
        columns += [
            Column("USD/query", lambda o: usd(o.get("usd_per_query"))),
            Column("USD/hour", lambda o: usd(o.get("usd_per_hour")), 30),
        ]
    columns += [
        Column("recovery", _recovery, 45),
        Column("label", lambda o: str(o.get("label") or "-"), 40),
    ]
    return columns


def _options_table(
    columns: Sequence[Column], cells: Sequence[Sequence[str]], widths: Sequence[int] | None
) -> Table:
    table = Table(title="Recommendation", header_style="bold", title_style="bold green")
    for number, column in enumerate(columns):
        if widths is None:  # not even the columns kept always fit: rich folds what it must
            table.add_column(column.header, overflow="fold")
        else:
            header = "\n".join(textwrap.wrap(column.header, widths[number]))
            table.add_column(header, width=widths[number])
    for number, row in enumerate(cells):
        table.add_row(*row, style=None if number == 0 else "dim")
    return table


def fitted_table(
    console: Console, columns: Sequence[Column], options: Sequence[dict[str, Any]]
) -> tuple[Table, list[Column]]:
    """The table, and the columns hidden because the console is too narrow for them.

    The most important columns are placed first, and each one that still fits is added; they
    are shown in their own order. A figure never folds: a header wraps on its spaces when the
    room left is too small for it on one line."""
    cells = [[c.cell(o) for o in options] for c in columns]
    figures = [
        max(cell_len(text) for text in [*c.header.split(), *cs])
        for c, cs in zip(columns, cells, strict=True)
    ]
    # Heavy box: a border left of every column and one at the end; a space each side of a cell.
    used = 1 + sum(w + 3 for c, w in zip(columns, figures, strict=True) if c.keep >= ALWAYS)
    kept = {i for i, c in enumerate(columns) if c.keep >= ALWAYS}
    for i in sorted(range(len(columns)), key=lambda i: -columns[i].keep):
        if i not in kept and used + figures[i] + 3 <= console.width:
            kept.add(i)
            used += figures[i] + 3
    shown = sorted(kept)
    widths: list[int] | None = None
    if used <= console.width:
        widths = []
        for i in shown:  # the room left unwraps headers, leftmost first
            width = max(
                figures[i], min(cell_len(columns[i].header), figures[i] + console.width - used)
            )
            used += width - figures[i]
            widths.append(width)
    rows = [[cells[i][row] for i in shown] for row in range(len(options))]
    table = _options_table([columns[i] for i in shown], rows, widths)
    return table, [c for i, c in enumerate(columns) if i not in kept]


def winner_lines(rec: Mapping[str, Any], query: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of what the table cannot say about the winner, or not on every console:
    its operating point with intervals, its fleet, and how the fleet was sized."""
    lines = []
    if rec.get("operating_qps") is not None:
        figures = (
            f"{fmt(rec['operating_qps'])} QPS per deployment, {percentile_word(query)} "
            f"TTFT {_interval(rec, 'ttft_ms', 4)} ms, ITL {_interval(rec, 'itl_ms')} ms"
        )
        if rec.get("ttft_unloaded_ms") is not None or rec.get("itl_unloaded_ms") is not None:
            figures += (
                f"; idle server: {fmt(rec.get('ttft_unloaded_ms'), 4)} / "
                f"{fmt(rec.get('itl_unloaded_ms'))} ms"
            )
        lines.append(("load", figures))
    qps = query.get("qps")
    if qps and rec.get("deployments") is not None:
        count = rec["deployments"]
        fleet = [f"{count} deployment{'s' if count != 1 else ''}"]
        if rec.get("fleet_gpus") is not None:
            fleet.append(f"{rec['fleet_gpus']} GPUs")
        fleet.append(f"{usd(rec.get('fleet_usd_per_hour'))}/hour")
        if rec.get("usd_per_million_output_tokens") is not None:
            fleet.append(f"{usd(rec['usd_per_million_output_tokens'])} per million output tokens")
        lines.append(("fleet", f"{', '.join(fleet)} for {qps:g} QPS"))
    sizing = []
    if rec.get("sized_qps_per_deployment") is not None:
        headroom = query.get("headroom_pct")
        basis = f"{headroom:g}% headroom" if headroom is not None else "the 80% interval's low end"
        sizing.append(
            f"sized on {fmt(rec['sized_qps_per_deployment'])} QPS per deployment ({basis})"
        )
    if rec.get("meets_limits_probability") is not None and qps:
        sizing.append(
            f"chance to meet the limits at {qps:g} QPS: {_chance(rec['meets_limits_probability'])}"
        )
    if sizing:
        lines.append(("sizing", "; ".join(sizing)))
    if rec.get("accuracy_label") not in (None, "measured"):  # a family estimate or a prior
        lines.append(
            (
                "accuracy",
                f"{rec['recovery_pct']:.2f}% [{rec['recovery_pct_lo']:.2f}-"
                f"{rec['recovery_pct_hi']:.2f}] of BF16 on {query.get('suite')}, "
                f"{rec['accuracy_label']}: {rec.get('accuracy_basis')}",
            )
        )
    aside = rec.get("set_aside")
    if aside:  # the catalog has this very cell, but hygiene set it aside: say so, and why
        lines.append(
            (
                "measured",
                f"{fmt(aside['latency_s'])} s ({aside['source']}, {aside['engine']}), set "
                f"aside; the {fmt(rec.get('latency_s'))} s shown is {rec.get('label')}. "
                f"{aside['reason']}",
            )
        )
    return lines


def set_aside_line(options: Sequence[dict[str, Any]]) -> str | None:
    """The other options shown whose own measurement hygiene set aside, with its value."""
    found = [
        f"{format_of(o)} on {layout(o)} ({fmt(o['set_aside']['latency_s'])} s, "
        f"{o['set_aside']['decode_flag']})"
        for o in options
        if o.get("set_aside")
    ]
    if not found:
        return None
    return f"also measured but set aside: {', '.join(found)}; --json says why (set_aside)"


def print_advice(console: Console, advice: Any, hints: Mapping[str, str] | None = None) -> None:
    """The answer for people. `hints` (rejection reason -> what to do) come from the caller:
    only it knows its own flags."""
    hints = hints or {}
    query = advice.query
    size = f" ({query['params_b']:.3g}B parameters" if query.get("params_b") else ""
    if size and query.get("active_params_b"):
        size += f", {query['active_params_b']:.3g}B active per token"
    title = (
        f"{query['model']}{size + ')' if size else ''} | {query['prefill_tokens']} in / "
        f"{query['decode_tokens']} out | {query['mode']}"
    )
    console.print(f"[bold]{title}[/]  {targets_line(query)}", highlight=False)
    if query.get("defaults"):
        console.print(f"[dim]defaults: {'; '.join(query['defaults'])}[/]", highlight=False)
    for line in prices_lines(query):
        console.print(line, highlight=False)
    if advice.recommendation is not None:
        rec = advice.recommendation
        options = [rec, *(o.model_dump(mode="json") for o in advice.alternatives[:8])]
        table, hidden = fitted_table(console, advice_columns(query, options), options)
        console.print(table)
        for label, line in winner_lines(rec, query):
            console.print(f"[bold]{label + ':':<8}[/] {line}", highlight=False)
        others = set_aside_line(options[1:])
        if others:
            console.print(f"[dim]{others}[/]", highlight=False)
        if hidden:
            names = ", ".join(c.header for c in hidden)
            console.print(f"[dim]hidden at this width: {names} (--json has them)[/]")
        if rec.get("quantize_command"):
            console.print(
                f"[bold]first:[/]   {rec['quantize_command']}", highlight=False, soft_wrap=True
            )
        console.print(
            f"[bold]serve:[/]   {rec['vllm_serve_command']}", highlight=False, soft_wrap=True
        )
        console.print(
            f"[bold]confirm:[/] {rec['guidellm_command']}", highlight=False, soft_wrap=True
        )
    else:
        console.print("[bold red]Nothing meets these targets.[/]")
    print_ruled_out(console, advice, hints)
    print_not_priced(console, advice, hints)
    print_not_evaluated(console, advice, hints)


def prices_lines(query: Mapping[str, Any]) -> list[str]:
    """The price list an answer used, its date, your prices over it, and which of its prices
    are not its own sources' (the hyperscalers' median, estimates)."""
    if not query.get("price_list"):
        return []
    about = [query.get("price_list_description"), query.get("price_list_as_of")]
    words = ", ".join(filter(None, [about[0], f"as of {about[1]}" if about[1] else None]))
    line = f"[bold]Prices:[/] {query['price_list']}" + (f" ({words})" if words else "")
    if query.get("prices_merged"):
        line += f", with your {query['prices_merged']} over it (your rows win)"
    lines = [line]
    by_note: dict[str, list[str]] = {}
    for gpu, note in (query.get("price_notes") or {}).items():
        by_note.setdefault(note, []).append(gpu)
    lines += [f"[dim]  {', '.join(gpus)}: {note}[/]" for note, gpus in by_note.items()]
    return lines
