"""The advice as one self-contained HTML file, or its main chart as SVG or PNG."""

from __future__ import annotations

import html
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from advisor.errors import InvalidInputError
from api.chart_drawing import to_png, to_svg
from api.charts import advice_chart, limits_chart, recovery_chart
from api.words import targets_line


@cache
def asset(name: str) -> str:
    """A file of the web page (api/web), shipped with the package."""
    return resources.files("api.web").joinpath(name).read_text()


def report_html(advice: dict[str, Any]) -> str:
    """The advice page as one self-contained file: styles, script and data inlined."""
    charts = {
        "advice": to_svg(advice_chart(advice), "advice-chart-svg"),
        "recovery": to_svg(recovery_chart(advice), "recovery-chart-svg"),
    }
    if (advice.get("query") or {}).get("mode") != "sync":
        charts["limits"] = to_svg(limits_chart(advice), "limits-chart-svg")
    data = {"advice": advice, "charts": charts}
    page = asset("index.html")
    # The targets in the file itself, not only in what its script draws: a listing of report
    # files, or a reader without scripts, still sees which percentile the figures are at.
    query = advice.get("query") or {}
    if query.get("model"):
        named = html.escape(f"{query['model']}: {targets_line(query)}")
        page = page.replace(
            "<title>quant-advisor</title>", f"<title>quant-advisor | {named}</title>"
        )
    page = page.replace(
        '<link rel="stylesheet" href="/static/style.css">',
        "<style>\n" + asset("style.css") + "\n</style>",
    )
    inline = json.dumps(data).replace("</", "<\\/")
    page = page.replace(
        '<script src="/static/app.js"></script>',
        f'<script type="application/json" id="report-data">{inline}</script>\n'
        f"<script>\n{asset('app.js')}\n</script>",
    )
    # The report is read offline: no form, no links back to a server.
    page = page.replace('<section id="query-section">', '<section id="query-section" hidden>')
    for link in (
        '<a href="/">advice</a>',
        '<a href="/catalog">catalog</a>',
        '<a href="/schema">API</a>',
    ):
        page = page.replace(link, "")
    return page


def write_report(advice: dict[str, Any], path: Path) -> None:
    """`.html`: the whole answer, offline; `.svg` / `.png`: the cost chart."""
    suffix = path.suffix.lower()
    if suffix in {".html", ".htm"}:
        path.write_text(report_html(advice))
    elif suffix == ".svg":
        path.write_text(to_svg(advice_chart(advice)))
    elif suffix == ".png":
        path.write_bytes(to_png(advice_chart(advice)))
    else:
        raise InvalidInputError(f"--report {path}: the file name must end in .html, .svg or .png")
