"""The web page, the catalog view and their charts: HTML and SVG for people, from the same JSON
the API serves."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

from litestar import Controller, MediaType, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from advisor.data import Snapshot
from advisor.hardware import GPU_COUNTS
from advisor.query import STUDY_ITL_LIMIT_MS, STUDY_TTFT_LIMIT_MS
from advisor.sizes import fits
from advisor.vocabulary import Format, parse_format
from api.chart_drawing import to_svg
from api.charts import advice_chart, limits_chart, load_curve_chart, recovery_chart
from api.http.body import Deferred, DeferredDTO
from api.http.deps import ENGINE
from api.report import asset
from api.runtime import Engine
from api.schemas import AdviceResponse
from catalog import queries

SVG = "image/svg+xml"
STATIC = {
    "app.js": "text/javascript",
    "catalog.js": "text/javascript",
    "schema.js": "text/javascript",
    "style.css": "text/css",
}


def coverage_rows(snapshot: Snapshot, measured: list[Any]) -> dict[str, Any]:
    """Every model x format x GPU cell: measured, unsupported, no-fit or predicted."""
    counts: dict[tuple[str, str, str], list[int]] = {}
    for model, fmt, gpu, _count, n_sync, n_async, n_points in measured:
        totals = counts.setdefault((model, fmt, gpu), [0, 0, 0])
        for i, n in enumerate((n_sync, n_async, n_points)):
            totals[i] += int(n)
    rows = []
    for spec in snapshot.models:
        for fmt in Format:
            cells = {}
            for g in snapshot.gpus:
                found = counts.get((spec.model, fmt.value, g.gpu))
                if found:
                    cells[g.gpu] = {
                        "status": "measured",
                        "sync": found[0],
                        "async": found[1],
                        "load_points": found[2],
                        "detail": "measured cells",
                    }
                elif not g.supports(fmt):
                    cells[g.gpu] = {
                        "status": "unsupported",
                        "detail": f"{g.gpu} cannot run {fmt.value}",
                    }
                elif not any(fits(spec.arch, fmt, g, n, 2048) for n in GPU_COUNTS):
                    cells[g.gpu] = {"status": "no-fit", "detail": "does not fit on 16 GPUs"}
                else:
                    cells[g.gpu] = {
                        "status": "predicted",
                        "detail": "predicted by the fitted models",
                    }
            rows.append({"model": spec.model, "format": fmt.value, "cells": cells})
    return {"gpus": [g.gpu for g in snapshot.gpus], "rows": rows}


# A chart route: an advice document in (validated on demand), SVG out.
chart = partial(
    post,
    media_type=SVG,
    status_code=200,
    sync_to_thread=True,
    tags=["charts"],
    dto=DeferredDTO[AdviceResponse],
    return_dto=None,
)


class PagesController(Controller):
    """The HTML pages and static files stay on the loop (packaged text); charts and catalog
    reads run in threads."""

    path = "/"
    dependencies = ENGINE

    @get("/", include_in_schema=False, media_type=MediaType.HTML, sync_to_thread=False)
    def index(self) -> str:
        return asset("index.html")

    @get("/catalog", include_in_schema=False, media_type=MediaType.HTML, sync_to_thread=False)
    def catalog_page(self) -> str:
        return asset("catalog.html")

    @get("/static/{name:str}", include_in_schema=False, sync_to_thread=False)
    def static(self, name: FromPath[str]) -> Response[str]:
        if name not in STATIC:
            raise NotFoundException(detail=f"no static file {name!r}")
        return Response(
            asset(name), media_type=STATIC[name], headers={"Cache-Control": "public, max-age=300"}
        )

    @chart("/v1/charts/advice.svg")
    def advice_svg(self, data: JSONBody[Deferred[AdviceResponse]]) -> str:
        """Every candidate of an advice document: cost per query against latency or max QPS."""
        document = data.parse().model_dump(mode="json")
        return to_svg(advice_chart(document), "advice-chart-svg")

    @chart("/v1/charts/recovery.svg")
    def recovery_svg(self, data: JSONBody[Deferred[AdviceResponse]]) -> str:
        """Accuracy recovery per format of an advice document, with intervals and the floor."""
        document = data.parse().model_dump(mode="json")
        return to_svg(recovery_chart(document), "recovery-chart-svg")

    @chart("/v1/charts/limits.svg")
    def limits_svg(self, data: JSONBody[Deferred[AdviceResponse]]) -> str:
        """Async advice: each option's TTFT and ITL at its operating point against the limits,
        the feasible region shaded."""
        document = data.parse().model_dump(mode="json")
        return to_svg(limits_chart(document), "limits-chart-svg")

    @get("/v1/coverage", sync_to_thread=True, tags=["catalog"])
    def coverage(self, engine: NamedDependency[Engine]) -> dict[str, Any]:
        """Models x formats x GPUs: measured cells, or whether the advisor predicts them."""
        snapshot = engine.current().snapshot
        measured = engine.access.read(lambda con: queries.performance_cells(con)[1])
        return coverage_rows(snapshot, measured)

    @get("/v1/coverage/load-curves", sync_to_thread=True, tags=["catalog"])
    def load_curves(self, engine: NamedDependency[Engine]) -> list[dict[str, Any]]:
        """Configurations with GuideLLM sub-benchmarks in the catalog."""
        found = engine.access.read(lambda con: queries.records(con, "load_curve_configs"))
        rows: list[dict[str, Any]] = json.loads(json.dumps(found, default=str))
        return rows

    @get("/v1/charts/load-curve.svg", media_type=SVG, sync_to_thread=True, tags=["charts"])
    def load_curve_svg(
        self,
        engine: NamedDependency[Engine],
        model: FromQuery[str],
        gpu: FromQuery[str],
        gpu_count: Annotated[int, QueryParameter(ge=1, le=64)],
        formats: Annotated[str, QueryParameter(name="format")],
    ) -> str:
        """Measured p99 TTFT and ITL against load for one configuration, with the limits."""
        snapshot = engine.current().snapshot
        params = {
            "model": snapshot.resolve("model", model),
            "format": parse_format(formats).value,
            "gpu": snapshot.resolve("gpu", gpu),
            "gpu_count": gpu_count,
        }
        points = engine.access.read(lambda con: queries.records(con, "load_curve", params))
        if not points:
            raise NotFoundException(detail="no GuideLLM sub-benchmarks for this configuration")
        use_case = next((p["use_case"] for p in points if p["use_case"]), None)
        ttft, itl = STUDY_TTFT_LIMIT_MS, STUDY_ITL_LIMIT_MS
        if use_case is not None:
            case = snapshot.use_case(use_case)
            ttft, itl = case.ttft_limit_ms or ttft, case.itl_limit_ms or itl
        title = f"{params['model']} {params['format']} on {gpu_count} x {params['gpu']}"
        return to_svg(load_curve_chart(title, points, ttft, itl), "load-curve-svg")
