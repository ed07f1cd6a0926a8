"""The HTTP service: one composition root, `create_app(settings)`; thin handlers."""

from __future__ import annotations

import hmac
import json
import logging
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from litestar import Litestar, MediaType, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State, UploadFile
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.params import FromQuery, JSONBody, MultipartBody, QueryParameter
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from advisor import __version__
from advisor.errors import AdvisorError, CatalogError, ImportRejectedError, UnknownNameError
from advisor.hardware import parse_price_rows
from advisor.service import Query, predict, validated
from advisor.vocabulary import FORMAT_ALIASES, FORMAT_COMPUTE, Format, Mode
from api import pages
from api.ask import AskError, read_question
from api.metrics import Metrics, MetricsMiddleware
from api.schemas import (
    AdviceRequest,
    AdviceResponse,
    AskResponse,
    FormatOut,
    GpuOut,
    Health,
    ImportResult,
    MeasurementPage,
    ModelOut,
    PredictBody,
    PredictResponse,
    PriceRow,
    Problem,
    UseCaseOut,
)
from api.settings import Settings
from api.state import Engine, engine_of
from catalog import queries
from catalog.importers import guidellm, lm_eval
from catalog.importers.common import ImportOptions
from catalog.store import ingest

log = logging.getLogger("advisor.api")
PROBLEM_BASE = "https://quant-advisor.invalid/problems/"


# ---------------------------------------------------------------------------- errors


def _problem(
    status: int, kind: str, title: str, detail: str, **extra: Any
) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=status,
        type_=PROBLEM_BASE + kind,
        title=title,
        detail=detail,
        extra=extra or None,
    )


def _unknown(exc: UnknownNameError) -> ProblemDetailsException:
    return _problem(
        422,
        "unknown-name",
        f"Unknown {exc.kind}",
        str(exc),
        accepted=exc.accepted,
        closest=exc.closest[0] if exc.closest else None,
    )


def _ask(exc: AskError) -> ProblemDetailsException:
    return _problem(
        422,
        "question-not-understood",
        "Question not understood",
        str(exc),
        unrecognised=exc.unrecognised,
        examples=exc.examples,
    )


def _invalid(exc: AdvisorError) -> ProblemDetailsException:
    return _problem(422, "invalid-input", "Invalid input", str(exc))


def _rejected_file(exc: ImportRejectedError) -> ProblemDetailsException:
    return _problem(422, "import-rejected", "File rejected; the catalog is unchanged", str(exc))


def _catalog(exc: CatalogError) -> ProblemDetailsException:
    return _problem(503, "catalog-unavailable", "Catalog unavailable", str(exc))


def _validation(exc: ValidationException) -> ProblemDetailsException:
    errors = [
        {"field": e.get("key"), "message": e.get("message"), "source": e.get("source")}
        for e in (exc.extra if isinstance(exc.extra, list) else [])
    ]
    fields = ", ".join(str(e["field"]) for e in errors if e["field"])
    detail = f"invalid value for {fields}" if fields else str(exc.detail)
    return _problem(422, "invalid-input", "Invalid input", detail, errors=errors)


def _http(exc: HTTPException) -> ProblemDetailsException:
    status = exc.status_code
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return ProblemDetailsException(
        status_code=status,
        type_=PROBLEM_BASE + f"http-{status}",
        title=title,
        detail=str(exc.detail),
        headers=exc.headers,
    )


def _internal(exc: Exception) -> ProblemDetailsException:
    log.exception("unhandled error", exc_info=exc)
    return _problem(500, "internal", "Internal error", "the server failed to answer; see its log")


PROBLEMS: dict[type[Exception], Callable[[Any], ProblemDetailsException]] = {
    UnknownNameError: _unknown,
    AskError: _ask,
    ImportRejectedError: _rejected_file,
    CatalogError: _catalog,
    AdvisorError: _invalid,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _internal,
}


# ---------------------------------------------------------------------------- helpers


def json_response(body: bytes) -> Response[bytes]:
    return Response(content=body, media_type=MediaType.JSON)


def _prices(rows: list[PriceRow] | None) -> Any:
    if rows is None:
        return None
    return parse_price_rows([r.model_dump() for r in rows], "request prices")


def _advice_bytes(engine: Engine, query: Query, prices: list[PriceRow] | None) -> bytes:
    key = ("advice", query.model_dump_json(), json.dumps([p.model_dump() for p in prices or []]))

    def compute() -> bytes:
        # Advice has AdviceResponse's shape (a test checks the two agree): no second validation.
        advice = engine.current().advise(query, _prices(prices))
        return advice.model_dump_json().encode()

    return engine.cached_answer(key, compute)


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    words = {
        401: "no bearer token",
        403: "wrong token, or imports disabled",
        404: "not found",
        413: "body too large",
        422: "invalid input",
        503: "catalog unavailable",
    }
    return {
        status: ResponseSpec(
            data_container=Problem, description=words[status], media_type="application/problem+json"
        )
        for status in statuses
    }


ADVICE_SPEC = {
    200: ResponseSpec(data_container=AdviceResponse, description="the advice"),
    **problems(422, 503),
}
READ_SPEC = problems(422, 503)
IMPORT_SPEC = problems(401, 403, 413, 422)


# ---------------------------------------------------------------------------- advice


@get("/v1/advice", sync_to_thread=False, responses=ADVICE_SPEC, tags=["advice"])
def advice_get(
    state: State,
    model: Annotated[str, QueryParameter(description="model id, alias (8b, 70b, 405b) or HF id")],
    use_case: FromQuery[str | None] = None,
    prefill_tokens: FromQuery[int | None] = None,
    decode_tokens: FromQuery[int | None] = None,
    gpu: Annotated[
        list[str] | None, QueryParameter(description="GPU types; repeat or comma-separate")
    ] = None,
    formats: Annotated[
        list[str] | None, QueryParameter(name="format", description="formats to consider")
    ] = None,
    mode: FromQuery[Mode] = Mode.ASYNC,
    ttft_ms: FromQuery[float | None] = None,
    itl_ms: FromQuery[float | None] = None,
    latency_s: FromQuery[float | None] = None,
    min_recovery: FromQuery[float | None] = None,
    suite: FromQuery[str | None] = None,
    qps: FromQuery[float | None] = None,
    max_gpus: FromQuery[int] = 16,
) -> Response[bytes]:
    """The cheapest format, GPU type and count within the targets (same as `advise --json`)."""
    query = validated(
        Query,
        {
            "model": model,
            "use_case": use_case,
            "prefill_tokens": prefill_tokens,
            "decode_tokens": decode_tokens,
            "gpus": gpu,
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
    return json_response(_advice_bytes(engine_of(state), query, None))


@post("/v1/advice", sync_to_thread=False, responses=ADVICE_SPEC, status_code=200, tags=["advice"])
def advice_post(state: State, data: JSONBody[AdviceRequest]) -> Response[bytes]:
    """The same as GET, with the query as a JSON body and an optional price list."""
    query = Query.model_validate(data.model_dump(exclude={"prices"}))
    return json_response(_advice_bytes(engine_of(state), query, data.prices))


@get("/v1/ask", sync_to_thread=False, tags=["advice"], responses=READ_SPEC)
def ask(
    state: State,
    q: Annotated[str, QueryParameter(description="a question in plain English", max_length=1000)],
) -> AskResponse:
    """Advice for a question such as "best format for RAG on A100"; says how it read it."""
    engine = engine_of(state)
    understood, defaulted = read_question(q, engine.current().snapshot)
    query = validated(Query, understood)
    body = json.loads(_advice_bytes(engine, query, None))
    defaulted += [d for d in body["query"].get("defaults", []) if not d.startswith("model=")]
    return AskResponse(
        question=q,
        understood=understood,
        defaulted=defaulted,
        advice=AdviceResponse.model_validate(body),
    )


@post("/v1/predict", sync_to_thread=False, status_code=200, tags=["advice"], responses=READ_SPEC)
def predict_many(state: State, data: JSONBody[PredictBody]) -> PredictResponse:
    """Predicted TTFT, ITL, latency, max QPS and cost for one or many configurations."""
    advisor = engine_of(state).current()
    results = predict(advisor, data.configurations, _prices(data.prices))
    rows = [
        {**c.model_dump(mode="json"), **r}
        for c, r in zip(data.configurations, results, strict=True)
    ]
    return PredictResponse.model_validate({"predictions": rows})


# ---------------------------------------------------------------------------- reference data


@get("/v1/models", sync_to_thread=False, tags=["catalog"])
def models(state: State) -> list[ModelOut]:
    """Models in the catalog (others can be given as a config.json to `advise`)."""
    snapshot = engine_of(state).current().snapshot
    return [
        ModelOut(model=m.model, hf_id=m.hf_id, **m.arch.model_dump(exclude={"attention_bias"}))
        for m in snapshot.models
    ]


@get("/v1/gpus", sync_to_thread=False, tags=["catalog"])
def gpus(state: State) -> list[GpuOut]:
    """GPU types with datasheet specs and the default price per GPU-hour."""
    snapshot = engine_of(state).current().snapshot
    prices = snapshot.price_list()
    aliases: dict[str, list[str]] = {}
    for n in snapshot.names:
        if n.kind == "gpu" and n.alias != n.canonical:
            aliases.setdefault(n.canonical, []).append(n.alias)
    out = []
    for g in snapshot.gpus:
        listed = [e for e in prices.entries if e.gpu == g.gpu]
        per_gpu = (
            min(listed, key=lambda e: e.gpu_count).usd_per_hour / min(e.gpu_count for e in listed)
            if listed
            else None
        )
        out.append(
            GpuOut(
                **g.model_dump(exclude={"nodes_of"}),
                usd_per_gpu_hour=per_gpu,
                aliases=sorted(aliases.get(g.gpu, [])),
            )
        )
    return out


@get("/v1/formats", sync_to_thread=False, tags=["catalog"])
def formats() -> list[FormatOut]:
    """Quantization formats and the spellings accepted for them."""
    needs = {
        Format.BF16: "any GPU",
        Format.FP8: "FP8 tensor cores (Ada, Hopper or later)",
        Format.INT8: "INT8 tensor cores",
        Format.INT4: "any GPU (BF16 math)",
    }
    return [
        FormatOut(
            format=f.value,
            aliases=sorted(a for a, v in FORMAT_ALIASES.items() if v is f and a != f.value),
            compute_type=FORMAT_COMPUTE[f].value,
            needs=needs[f],
        )
        for f in Format
    ]


@get("/v1/use-cases", sync_to_thread=False, tags=["catalog"])
def use_cases(state: State) -> list[UseCaseOut]:
    """The study's use cases: token counts and latency limits."""
    return [UseCaseOut(**u.model_dump()) for u in engine_of(state).current().snapshot.use_cases]


@get("/v1/measurements", sync_to_thread=False, tags=["catalog"], responses=READ_SPEC)
def measurements(
    state: State,
    kind: Annotated[
        str,
        QueryParameter(
            description="sync, async, accuracy or load_points",
            pattern="^(sync|async|accuracy|load_points)$",
        ),
    ] = "sync",
    model: FromQuery[str | None] = None,
    formats: Annotated[str | None, QueryParameter(name="format")] = None,
    gpu: FromQuery[str | None] = None,
    use_case: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    offset: Annotated[int, QueryParameter(ge=0, le=10**9)] = 0,
) -> MeasurementPage:
    """Catalog rows (the public views), filtered and paginated."""
    engine = engine_of(state)
    snapshot = engine.current().snapshot
    from advisor.vocabulary import parse_format

    filters = {
        "model": snapshot.resolve("model", model) if model else None,
        "format": parse_format(formats).value if formats else None,
        "gpu": snapshot.resolve("gpu", gpu) if gpu else None,
        "use_case": snapshot.resolve("use_case", use_case) if use_case else None,
    }
    total, items = engine.access.read(lambda con: queries.page(con, kind, filters, limit, offset))
    return MeasurementPage(
        kind=kind,
        total=total,
        limit=limit,
        offset=offset,
        items=json.loads(json.dumps(items, default=str)),
    )


# ---------------------------------------------------------------------------- imports


def require_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    settings: Settings = connection.app.state.settings
    if not settings.imports_enabled or settings.import_token is None:
        raise PermissionDeniedException(
            detail="imports are disabled on this server: start it with ADVISOR_IMPORT_TOKEN set"
        )
    header = connection.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise NotAuthorizedException(
            detail="send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="imports"'},
        )
    if not hmac.compare_digest(
        header[7:].strip().encode(), settings.import_token.get_secret_value().encode()
    ):
        raise PermissionDeniedException(detail="the bearer token is not the one configured")


@dataclass
class GuideLLMUpload:
    file: UploadFile
    model: str | None = None
    format: str | None = None
    gpu: str | None = None
    gpus: int | None = None
    use_case: str | None = None
    method: str | None = None
    replace: bool = False


@dataclass
class LmEvalUpload:
    file: UploadFile
    model: str | None = None
    format: str | None = None
    suite: str | None = None
    method: str | None = None
    replace: bool = False


async def _import(
    state: State, upload: UploadFile, parse: Any, options: ImportOptions, replace: bool
) -> ImportResult:
    engine = engine_of(state)
    name = (
        re.sub(r"[^A-Za-z0-9._-]", "_", Path(upload.filename or "upload.json").name)
        or "upload.json"
    )
    content = await upload.read()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        batch = parse(path, options)
    batch = batch.model_copy(
        update={"source": batch.source.model_copy(update={"uri": f"upload:{name}"})}
    )
    (result,) = engine.access.write(lambda con: ingest(con, batch, replace=replace))
    if not result.duplicate or replace:
        engine.reload_now()
    return ImportResult(file=name, **result.model_dump())


@post(
    "/v1/imports/guidellm",
    guards=[require_token],
    tags=["imports"],
    status_code=201,
    responses=IMPORT_SPEC,
)
async def import_guidellm(state: State, data: MultipartBody[GuideLLMUpload]) -> ImportResult:
    """Add a GuideLLM report (JSON or YAML) to the catalog; the advice uses it at once."""
    options = ImportOptions(
        model=data.model,
        format=data.format,
        gpu=data.gpu,
        gpu_count=data.gpus,
        use_case=data.use_case,
        method=data.method,
    )
    return await _import(state, data.file, guidellm.parse_result, options, data.replace)


@post(
    "/v1/imports/lm-eval",
    guards=[require_token],
    tags=["imports"],
    status_code=201,
    responses=IMPORT_SPEC,
)
async def import_lm_eval(state: State, data: MultipartBody[LmEvalUpload]) -> ImportResult:
    """Add an lm-eval results file to the catalog."""
    options = ImportOptions(
        model=data.model, format=data.format, suite=data.suite, method=data.method
    )
    return await _import(state, data.file, lm_eval.parse_result, options, data.replace)


# ---------------------------------------------------------------------------- operations


@get("/healthz", sync_to_thread=False, tags=["operations"])
def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@get(
    "/readyz",
    sync_to_thread=False,
    tags=["operations"],
    responses={503: ResponseSpec(data_container=Health, description="not ready")},
)
def readyz(state: State) -> Response[Health]:
    """The catalog is readable and the models are fitted."""
    try:
        engine = engine_of(state)
        engine.current()
        rows = engine.access.read(queries.counts)
    except Exception as exc:
        return Response(Health(status=f"not ready: {exc}"), status_code=503)
    return Response(
        Health(
            status="ready",
            catalog=str(engine.settings.catalog_path),
            rows=rows,
        )
    )


def metrics_handler(metrics: Metrics) -> Any:
    @get(
        "/metrics",
        sync_to_thread=False,
        media_type="text/plain; version=0.0.4",
        tags=["operations"],
    )
    def serve_metrics(state: State) -> str:
        """Prometheus metrics of this server process."""
        engine = engine_of(state)
        snapshot = engine.current().snapshot
        gauges = {
            "advisor_catalog_rows": (
                "Rows the advisor fits on, by kind.",
                [
                    ('kind="sync"', float(len(snapshot.sync))),
                    ('kind="async"', float(len(snapshot.async_))),
                    ('kind="accuracy"', float(len(snapshot.accuracy))),
                ],
            ),
            "advisor_fit_seconds": (
                "Time to load or fit the models at the last (re)load.",
                [("", engine.fit_seconds)],
            ),
            "advisor_answer_cache_entries": (
                "Answers cached in this process.",
                [("", float(len(engine.answers)))],
            ),
        }
        return metrics.render(gauges)

    return serve_metrics


# ---------------------------------------------------------------------------- the app


def create_app(settings: Settings) -> Litestar:
    """The one composition root of the HTTP service."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = Engine(settings)  # opens the catalog and loads the fitted models, once
        app.state.engine = engine
        try:
            yield
        finally:
            engine.close()

    return Litestar(
        route_handlers=[
            advice_get,
            advice_post,
            ask,
            predict_many,
            models,
            gpus,
            formats,
            use_cases,
            measurements,
            import_guidellm,
            import_lm_eval,
            healthz,
            readyz,
            metrics_handler(metrics),
            *pages.ROUTES,
        ],
        lifespan=[lifespan],
        state=State({"settings": settings}),
        plugins=[
            ProblemDetailsPlugin(ProblemDetailsConfig(exception_to_problem_detail_map=PROBLEMS))
        ],
        middleware=[DefineMiddleware(MetricsMiddleware, metrics=metrics)],
        openapi_config=OpenAPIConfig(
            title="quant-advisor",
            version=__version__,
            path="/schema",
            description="Deployment advice for quantized LLMs.",
        ),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )


def app_from_environment() -> Litestar:
    """Factory for ASGI servers and `advisor serve --workers N`: settings from ADVISOR_*."""
    return create_app(Settings())
