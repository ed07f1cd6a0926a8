"""Charts of an advice document: a specification (marks, axes, limits, frontier) built from the
same JSON the API returns; `api.chart_drawing` draws it.

The specification is plain data in data coordinates, mapped through the axis scales by the one
SVG renderer, so the picture and its tests agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from api.figures import fixed, usd
from api.words import percentile_word

FORMAT_COLOURS = {"bf16": "#6b7280", "fp8": "#2563eb", "int8": "#16a34a", "int4": "#ea580c"}
WIDTH, HEIGHT = 760, 440
MARGIN = {"left": 78, "right": 24, "top": 52, "bottom": 56}


@dataclass
class Axis:
    label: str
    scale: str  # "log" or "linear"
    lo: float
    hi: float
    categories: list[str] | None = None

    def ticks(self) -> list[float]:
        if self.categories is not None:
            return [float(i) for i in range(len(self.categories))]
        if self.scale == "log":
            # 1, 2, 5 per decade; a span of less than a decade gets every whole multiple.
            for multiples in ((1, 2, 5), tuple(range(1, 10))):
                out = [
                    m * 10.0**exponent
                    for exponent in range(
                        math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi)) + 1
                    )
                    for m in multiples
                    if self.lo <= m * 10.0**exponent <= self.hi
                ]
                if len(out) >= 3:
                    break
            return out
        step = _nice_step((self.hi - self.lo) / 6)
        start = math.ceil(self.lo / step) * step
        return [start + i * step for i in range(int((self.hi - start) / step) + 1)]

    def tick_label(self, value: float) -> str:
        if self.categories is not None:
            return self.categories[int(value)]
        return fixed(value, 4)

    def fraction(self, value: float) -> float:
        if self.categories is not None:
            return (value + 0.5) / max(len(self.categories), 1)
        if self.scale == "log":
            return (math.log10(value) - math.log10(self.lo)) / (
                math.log10(self.hi) - math.log10(self.lo)
            )
        return (value - self.lo) / (self.hi - self.lo)


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    exponent = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= m * exponent:
            return m * exponent
    return 10 * exponent


@dataclass
class Mark:
    id: str
    x: float
    y: float
    radius: float
    colour: str
    feasible: bool
    recommended: bool
    title: str
    lo: float | None = None  # vertical error bar, data units
    hi: float | None = None


@dataclass
class Guide:
    """A target drawn as a line: `axis` x or y at `value`."""

    axis: str
    value: float
    label: str


@dataclass
class Chart:
    title: str
    x: Axis
    y: Axis
    marks: list[Mark]
    guides: list[Guide] = field(default_factory=list)
    frontier: list[tuple[float, float]] = field(default_factory=list)
    region: tuple[float, float] | None = None  # feasible x range (data units), shaded
    legend: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    region_y: tuple[float, float] | None = None  # feasible y range; None: the whole axis
    width: int = WIDTH  # the picture's own size: text stays legible where it is drawn small
    height: int = HEIGHT
    font_size: int = 12


def _span(values: list[float], log: bool, pad: float = 0.15) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
        width = max(hi - lo, 0.3)
        return 10 ** (lo - pad * width), 10 ** (hi + pad * width)
    width = max(hi - lo, abs(hi) * 0.1, 1e-9)
    return max(0.0, lo - pad * width) if lo >= 0 else lo - pad * width, hi + pad * width


def _option_id(o: dict[str, Any]) -> str:
    return f"{o['format']}-{o['gpu']}-{o['gpu_count']}"


def advice_chart(doc: dict[str, Any]) -> Chart:
    """Cost per query (log) against latency (sync) or max QPS (async) for every evaluated
    candidate of an advice document."""
    query = doc["query"]
    sync = query["mode"] == "sync"
    key, better_low = ("latency_s", True) if sync else ("max_qps", False)
    recommended = doc.get("recommendation")
    options: list[tuple[dict[str, Any], bool]] = []
    if recommended:
        options.append((recommended, True))
    options += [(o, True) for o in doc.get("alternatives", [])]
    options += [(o, False) for o in doc.get("rejected", []) if not o.get("blocked")]
    # Log axes: only positive figures can be drawn (a document may come from anywhere).
    points = [
        (o, ok) for o, ok in options if (o.get(key) or 0) > 0 and (o.get("usd_per_query") or 0) > 0
    ]
    marks = []
    for o, ok in points:
        is_winner = recommended is not None and _option_id(o) == _option_id(recommended)
        status = (
            "recommended"
            if is_winner
            else ("feasible" if ok else f"ruled out: {o.get('detail', '')}")
        )
        value = f"{fixed(o[key])} s" if sync else f"{fixed(o[key])} QPS"
        marks.append(
            Mark(
                id=_option_id(o),
                x=float(o[key]),
                y=float(o["usd_per_query"]),
                radius=max(4 + 2 * math.log2(o["gpu_count"]), 8 if is_winner else 0),
                colour=FORMAT_COLOURS.get(o["format"], "#111"),
                feasible=ok,
                recommended=is_winner,
                title=f"{o['format']} on {o['gpu_count']} x {o['gpu']}: {value}, "
                f"{usd(o['usd_per_query'])}/query, {o.get('label', '')} - {status}",
            )
        )
    guides = []
    region = None
    if sync and query.get("latency_s"):
        guides.append(
            Guide("x", float(query["latency_s"]), f"latency limit {fixed(query['latency_s'], 6)} s")
        )
        region = (0.0, float(query["latency_s"]))
    if not sync and query.get("qps"):
        guides.append(Guide("x", float(query["qps"]), f"target {fixed(query['qps'], 6)} QPS"))
    xs = [m.x for m in marks] + [g.value for g in guides if g.axis == "x"]
    ys = [m.y for m in marks]
    x_axis = Axis(
        "latency, s (one request at a time)"
        if sync
        else f"max QPS within the limits at {percentile_word(query)}",
        "log" if xs and max(xs) / min(xs) > 8 else "linear",
        *(_span(xs, True) if xs else (0.1, 10)),
    )
    if x_axis.scale == "linear":
        x_axis.lo, x_axis.hi = _span(xs, False) if xs else (0.0, 1.0)
    y_axis = Axis("USD per query (log)", "log", *(_span(ys, True) if ys else (1e-4, 1e-2)))
    if region is not None:
        region = (x_axis.lo, min(region[1], x_axis.hi))
    feasible = sorted((m.x, m.y) for m in marks if m.feasible)
    frontier: list[tuple[float, float]] = []
    best = math.inf
    for x, y in feasible if better_low else reversed(feasible):
        if y < best:
            frontier.append((x, y))
            best = y
    frontier.sort()
    legend = [
        (f, c) for f, c in FORMAT_COLOURS.items() if any(m.id.startswith(f + "-") for m in marks)
    ]
    tokens = f"{query['prefill_tokens']} in / {query['decode_tokens']} out"
    title = f"{query['model']}: {tokens}, {query['mode']}"
    return Chart(
        title,
        x_axis,
        y_axis,
        marks,
        guides,
        frontier,
        region,
        legend,
        note="size: GPU count; faded: ruled out; ringed: recommended; line: Pareto frontier",
    )


def recovery_chart(doc: dict[str, Any]) -> Chart:
    """Accuracy recovery per format with its 80% interval, and the floor."""
    query = doc["query"]
    seen: dict[str, dict[str, Any]] = {}
    for group in (
        ([doc["recommendation"]] if doc.get("recommendation") else [])
        + doc.get("alternatives", [])
        + doc.get("rejected", [])
    ):
        if group.get("recovery_pct") is not None and group["format"] not in seen:
            seen[group["format"]] = group
    formats = [f for f in FORMAT_COLOURS if f in seen]
    marks = [
        Mark(
            id=f"recovery-{f}",
            x=float(i),
            y=float(seen[f]["recovery_pct"]),
            radius=6,
            colour=FORMAT_COLOURS[f],
            feasible=True,
            recommended=bool(doc.get("recommendation")) and doc["recommendation"]["format"] == f,
            lo=seen[f].get("recovery_pct_lo"),
            hi=seen[f].get("recovery_pct_hi"),
            title=f"{f}: {fixed(seen[f]['recovery_pct'], 4)}% of BF16 on {query['suite']} "
            f"[{fixed(seen[f].get('recovery_pct_lo'), 4)}-"
            f"{fixed(seen[f].get('recovery_pct_hi'), 4)}], "
            f"{seen[f].get('accuracy_label', '')}",
        )
        for i, f in enumerate(formats)
    ]
    values = [v for m in marks for v in (m.y, m.lo or m.y, m.hi or m.y)]
    guides = []
    if query.get("min_recovery_pct"):
        guides.append(
            Guide(
                "y",
                float(query["min_recovery_pct"]),
                f"floor {fixed(query['min_recovery_pct'], 6)}%",
            )
        )
        values.append(float(query["min_recovery_pct"]))
    lo, hi = _span(values or [95.0, 101.0], False, pad=0.25)
    # Drawn beside the cost chart at about half its width: a narrower picture, larger type.
    return Chart(
        "Accuracy vs BF16, 80% interval",
        Axis("format", "linear", -0.5, len(formats) - 0.5, categories=formats),
        Axis(f"% of BF16 on {query['suite']}", "linear", lo, hi),
        marks,
        guides,
        width=420,
        height=440,
        font_size=14,
    )


def limits_chart(doc: dict[str, Any]) -> Chart:
    """Async answers: each evaluated option's TTFT and ITL at its operating point (at the
    limits' percentile) against the limits, the feasible region shaded. An option that meets
    them at no load is drawn where an idle deployment is."""
    query = doc["query"]
    recommended = doc.get("recommendation")
    options = [(o, True) for o in ([recommended] if recommended else []) + doc["alternatives"]]
    options += [(o, False) for o in doc.get("rejected", []) if not o.get("blocked")]
    word = percentile_word(query)
    marks = []
    for o, ok in options:
        idle = o.get("ttft_ms") is None or o.get("itl_ms") is None
        x, y = (
            (o.get("ttft_unloaded_ms"), o.get("itl_unloaded_ms"))
            if idle
            else (o["ttft_ms"], o["itl_ms"])
        )
        if not x or not y or x <= 0 or y <= 0:
            continue
        where = "idle" if idle else f"at {fixed(o.get('operating_qps'))} QPS"
        status = "feasible" if ok else f"ruled out: {o.get('detail', '')}"
        is_winner = recommended is not None and _option_id(o) == _option_id(recommended)
        marks.append(
            Mark(
                id=_option_id(o),
                x=float(x),
                y=float(y),
                radius=max(4 + 2 * math.log2(o["gpu_count"]), 8 if is_winner else 0),
                colour=FORMAT_COLOURS.get(o["format"], "#111"),
                feasible=ok,
                recommended=is_winner,
                title=f"{o['format']} on {o['gpu_count']} x {o['gpu']} {where}: TTFT "
                f"{fixed(x, 4)} ms, ITL {fixed(y)} ms ({word}) - {status}",
            )
        )
    ttft, itl = query.get("ttft_limit_ms"), query.get("itl_limit_ms")
    guides = []
    if ttft:
        guides.append(Guide("x", float(ttft), f"TTFT limit {fixed(ttft, 6)} ms"))
    if itl:
        guides.append(Guide("y", float(itl), f"ITL limit {fixed(itl, 6)} ms"))
    xs = [m.x for m in marks] + [g.value for g in guides if g.axis == "x"]
    ys = [m.y for m in marks] + [g.value for g in guides if g.axis == "y"]
    x_axis = Axis(f"TTFT {word}, ms (log)", "log", *_span(xs or [100, 1000], True))
    y_axis = Axis(f"ITL {word}, ms (log)", "log", *_span(ys or [10, 100], True))
    region = None
    if ttft or itl:
        region = (x_axis.lo, min(float(ttft), x_axis.hi) if ttft else x_axis.hi)
    region_y = (y_axis.lo, min(float(itl), y_axis.hi)) if itl else None
    legend = [
        (f, c) for f, c in FORMAT_COLOURS.items() if any(m.id.startswith(f + "-") for m in marks)
    ]
    latency = query.get("latency_limit_s")
    return Chart(
        "TTFT and ITL at the operating point against the limits",
        x_axis,
        y_axis,
        marks,
        guides,
        region=region,
        region_y=region_y,
        legend=legend,
        note="shaded: within the TTFT and ITL limits; faded: ruled out (at an idle deployment "
        "when no load meets the limits)"
        + (f"; the latency limit {fixed(latency, 6)} s is not drawn" if latency else ""),
    )


def load_curve_chart(
    title: str,
    points: list[dict[str, Any]],
    ttft_limit_ms: float | None,
    itl_limit_ms: float | None,
) -> Chart:
    """Measured p99 TTFT and ITL against achieved request rate (GuideLLM sub-benchmarks)."""
    series = (("ttft", "TTFT", "#2563eb"), ("itl", "ITL", "#ea580c"))
    marks = [
        Mark(
            id=f"{key}-{p['benchmark_index']}",
            x=float(p["achieved_rps"]),
            y=float(p[f"{key}_p99_ms"]),
            radius=5,
            colour=colour,
            feasible=True,
            recommended=False,
            title=f"{p['strategy']}: {name} p99 {fixed(p[f'{key}_p99_ms'], 4)} ms "
            f"at {fixed(p['achieved_rps'])} req/s",
        )
        for p in points
        if p.get("achieved_rps") is not None
        for key, name, colour in series
        if p.get(f"{key}_p99_ms") is not None
    ]
    guides = []
    if ttft_limit_ms:
        guides.append(Guide("y", ttft_limit_ms, f"TTFT limit {fixed(ttft_limit_ms, 6)} ms"))
    if itl_limit_ms:
        guides.append(Guide("y", itl_limit_ms, f"ITL limit {fixed(itl_limit_ms, 6)} ms"))
    ys = [m.y for m in marks] + [g.value for g in guides]
    xs = [m.x for m in marks]
    return Chart(
        title,
        Axis("achieved requests per second", "linear", *_span(xs or [0, 1], False)),
        Axis("p99 latency, ms (log)", "log", *_span(ys or [1, 1000], True)),
        marks,
        guides,
        legend=[("TTFT p99", "#2563eb"), ("ITL p99", "#ea580c")],
    )
