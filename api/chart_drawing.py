"""Drawing a chart specification (`api.charts`): SVG for the page and the report, and PNG by
rasterising that same SVG (cairosvg), so each chart is drawn by one piece of code."""

from __future__ import annotations

import html
from typing import Any

from advisor.errors import AdvisorError
from api.charts import MARGIN, Chart


def _px(chart: Chart, x: float, y: float) -> tuple[float, float]:
    inner_w = chart.width - MARGIN["left"] - MARGIN["right"]
    inner_h = chart.height - MARGIN["top"] - MARGIN["bottom"]
    fx = min(max(chart.x.fraction(max(x, 1e-12) if chart.x.scale == "log" else x), -0.02), 1.02)
    fy = min(max(chart.y.fraction(max(y, 1e-12) if chart.y.scale == "log" else y), -0.02), 1.02)
    return MARGIN["left"] + fx * inner_w, MARGIN["top"] + (1 - fy) * inner_h


def _el(tag: str, body: str = "", **attrs: Any) -> str:
    """One SVG element; attribute names use _ for -, values are escaped."""

    def value(v: Any) -> str:
        return html.escape(
            v if isinstance(v, str) else f"{v:.1f}" if isinstance(v, float) else str(v)
        )

    rendered = " ".join(f'{k.rstrip("_").replace("_", "-")}="{value(v)}"' for k, v in attrs.items())
    return f"<{tag} {rendered}>{body}</{tag}>" if body else f"<{tag} {rendered}/>"


def to_svg(chart: Chart, element_id: str = "chart") -> str:
    e = html.escape
    width, height, size = chart.width, chart.height, chart.font_size
    left, top = MARGIN["left"], MARGIN["top"]
    right, bottom = width - MARGIN["right"], height - MARGIN["bottom"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{e(element_id)}" class="chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{e(chart.title)}" font-family="system-ui, sans-serif" font-size="{size}">',
        f"<title>{e(chart.title)}</title>",
        _el("text", e(chart.title), x=left, y=top - 30, font_size=size + 2, font_weight=600),
    ]
    if chart.region is not None:
        x1, y1 = _px(chart, max(chart.region[0], chart.x.lo), chart.y.hi)
        x2, y2 = _px(chart, chart.region[1], chart.y.lo)
        if chart.region_y is not None:
            _, y1 = _px(chart, chart.x.lo, chart.region_y[1])
            _, y2 = _px(chart, chart.x.lo, max(chart.region_y[0], chart.y.lo))
        out.append(
            _el(
                "rect",
                class_="feasible-region",
                x=x1,
                y=y1,
                width=max(x2 - x1, 0.0),
                height=max(y2 - y1, 0.0),
                fill="#dcfce7",
                opacity=0.6,
            )
        )
    for tick in chart.x.ticks():
        x, _ = _px(chart, tick, chart.y.lo)
        out.append(_el("line", x1=x, y1=top, x2=x, y2=bottom, stroke="#e5e7eb"))
        out.append(
            _el("text", e(chart.x.tick_label(tick)), x=x, y=bottom + size + 4, text_anchor="middle")
        )
    for tick in chart.y.ticks():
        _, y = _px(chart, chart.x.lo if chart.x.categories is None else 0, tick)
        out.append(_el("line", x1=left, y1=y, x2=right, y2=y, stroke="#e5e7eb"))
        out.append(_el("text", e(chart.y.tick_label(tick)), x=left - 6, y=y + 4, text_anchor="end"))
    out.append(
        _el(
            "rect",
            x=left,
            y=top,
            width=right - left,
            height=bottom - top,
            fill="none",
            stroke="#9ca3af",
        )
    )
    out.append(
        _el("text", e(chart.x.label), x=(left + right) / 2, y=height - 14, text_anchor="middle")
    )
    out.append(
        _el(
            "text",
            e(chart.y.label),
            transform=f"translate(16 {(top + bottom) / 2}) rotate(-90)",
            text_anchor="middle",
        )
    )
    for g in chart.guides:
        line = {"class_": "limit", "stroke": "#dc2626", "stroke_dasharray": "6 4"}
        label = {"class_": "limit-label", "fill": "#dc2626"}
        if g.axis == "x":
            x, _ = _px(chart, g.value, chart.y.lo)
            out.append(_el("line", x1=x, y1=top, x2=x, y2=bottom, **line))
            out.append(_el("text", e(g.label), x=x + 4, y=top + 14, **label))
        else:
            _, y = _px(chart, chart.x.lo, g.value)
            out.append(_el("line", x1=left, y1=y, x2=right, y2=y, **line))
            out.append(_el("text", e(g.label), x=right - 4, y=y - 5, text_anchor="end", **label))
    if len(chart.frontier) > 1:
        points = " ".join(
            f"{x:.1f},{y:.1f}" for x, y in (_px(chart, a, b) for a, b in chart.frontier)
        )
        out.append(
            _el(
                "polyline",
                class_="frontier",
                points=points,
                fill="none",
                stroke="#111827",
                stroke_width=1.5,
            )
        )
    for m in sorted(chart.marks, key=lambda m: (m.recommended, m.feasible)):
        x, y = _px(chart, m.x, m.y)
        if m.lo is not None and m.hi is not None:
            _, y_lo = _px(chart, m.x, m.lo)
            _, y_hi = _px(chart, m.x, m.hi)
            out.append(
                _el(
                    "line",
                    class_="interval",
                    x1=x,
                    y1=y_lo,
                    x2=x,
                    y2=y_hi,
                    stroke=m.colour,
                    stroke_width=2,
                )
            )
        classes = (
            "mark" + (" recommended" if m.recommended else "") + ("" if m.feasible else " rejected")
        )
        out.append(
            _el(
                "circle",
                f"<title>{e(m.title)}</title>",
                class_=classes,
                data_id=m.id,
                cx=x,
                cy=y,
                r=m.radius,
                fill=m.colour,
                fill_opacity=1.0 if m.feasible else 0.28,
                stroke="#111827" if m.recommended else "white",
                stroke_width=3 if m.recommended else 1,
            )
        )
    # The legend in a row between the title and the plot, right-aligned: never over a mark or
    # a limit's label.
    lx = right - sum(size * (len(name) * 0.6 + 2.5) for name, _ in chart.legend)
    for name, colour in chart.legend:
        out.append(_el("circle", cx=lx + 5, cy=top - 10 - size / 3, r=5, fill=colour))
        out.append(_el("text", e(name), x=lx + 13, y=top - 10))
        lx += size * (len(name) * 0.6 + 2.5)
    if chart.note:
        out.append(
            _el("text", e(chart.note), x=left, y=height - 2, font_size=size - 2, fill="#6b7280")
        )
    out.append("</svg>")
    return "\n".join(out)


def to_png(chart: Chart) -> bytes:
    """The same chart as a PNG, rasterised from its SVG so that one piece of code draws it."""
    try:
        import cairosvg
    except (ImportError, OSError) as exc:  # OSError: the C library cairosvg binds is missing
        raise AdvisorError(
            "PNG charts need the Cairo library (Debian: libcairo2); write .svg or .html instead"
        ) from exc
    # The SVG leaves its background to the page; an image file gets the white one it had.
    png: bytes = cairosvg.svg2png(bytestring=to_svg(chart).encode(), background_color="white")
    return png
