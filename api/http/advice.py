"""The advice routes: `/v1/advice` (GET and POST), `/v1/ask` and `/v1/predict`."""

from __future__ import annotations

import json
from typing import Annotated

import anyio.to_thread
from litestar import Controller, MediaType, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody, QueryParameter

from advisor.errors import InvalidInputError
from advisor.query import MAX_GPUS
from advisor.service import Query, predict, validated
from advisor.vocabulary import DEFAULT_PERCENTILE, PERCENTILES, Arrivals, Mode
from api.ask import read_question
from api.http.body import Deferred, DeferredDTO
from api.http.deps import ENGINE, request_prices
from api.http.limits import check_candidates
from api.http.problems import WORK_SPEC, problems
from api.runtime import Engine
from api.schemas import (
    AdviceRequest,
    AdviceResponse,
    AskResponse,
    PredictBody,
    PredictResponse,
    PriceRow,
)

ADVICE_SPEC = {
    200: ResponseSpec(data_container=AdviceResponse, description="the advice"),
    **problems(413, 422, 503),
}

# Left out of the query when the request does not give them, so that they read as defaulted.
UNSET_NAMED = frozenset({"percentile", "arrivals"})


# The request's own prices: what decides which prices an answer uses besides the query.
PRICE_FIELDS = frozenset({"price_list", "prices", "prices_only"})


def advice_key(
    query: Query,
    price_list: str | None = None,
    prices: list[PriceRow] | None = None,
    prices_only: bool = False,
) -> tuple[str, ...]:
    rows = json.dumps([p.model_dump() for p in prices or []])
    return "advice", query.model_dump_json(), str(price_list), rows, str(prices_only)


def advice_bytes(
    engine: Engine,
    query: Query,
    request: AdviceRequest | None = None,
    price_list: str | None = None,
) -> bytes:
    """The advice document for `query`, from the answer cache when it holds it. The prices:
    the request's (a body), else the named list (GET), else the default list."""
    if request is not None:
        price_list = request.price_list
    rows = request.prices if request is not None else None
    only = request.prices_only if request is not None else False
    check_candidates(engine.settings, query, len(engine.advisor.snapshot.gpus))
    key = advice_key(query, price_list, rows, only)

    def compute() -> bytes:
        advisor = engine.current()
        prices = request_prices(advisor.snapshot, price_list, rows, only)
        # Advice has AdviceResponse's shape (a test checks the two agree): no second validation.
        return advisor.advise(query, prices).model_dump_json().encode()

    return engine.cached_answer(key, compute)


def json_response(body: bytes) -> Response[bytes]:
    return Response(content=body, media_type=MediaType.JSON)


class AdviceController(Controller):
    """Every handler fits, searches or parses a body: all run in worker threads."""

    path = "/v1"
    tags = ("advice",)
    dependencies = ENGINE

    @get("/advice", responses=ADVICE_SPEC)
    async def advice_get(
        self,
        engine: NamedDependency[Engine],
        model: Annotated[
            str, QueryParameter(description="model id, alias (8b, 70b, 405b) or HF id")
        ],
        use_case: FromQuery[str | None] = None,
        prefill_tokens: FromQuery[int | None] = None,
        decode_tokens: FromQuery[int | None] = None,
        gpu: Annotated[
            list[str] | None, QueryParameter(description="GPU types; repeat or comma-separate")
        ] = None,
        formats: Annotated[
            list[str] | None, QueryParameter(name="format", description="formats to consider")
        ] = None,
        mode: Annotated[Mode, QueryParameter(description="sync or async")] = Mode.ASYNC,
        ttft_ms: FromQuery[float | None] = None,
        itl_ms: FromQuery[float | None] = None,
        latency_s: FromQuery[float | None] = None,
        min_recovery: FromQuery[float | None] = None,
        suite: FromQuery[str | None] = None,
        qps: FromQuery[float | None] = None,
        percentile: Annotated[
            float | None,
            QueryParameter(
                description="percentile the TTFT, ITL and latency limits apply to (async): "
                + ", ".join(f"{p:g}" for p in PERCENTILES)
                + f" (default {DEFAULT_PERCENTILE:g})"
            ),
        ] = None,
        arrivals: Annotated[
            Arrivals | None,
            QueryParameter(description="async arrivals: poisson (the default) or constant"),
        ] = None,
        headroom_pct: Annotated[
            float | None,
            QueryParameter(
                description="with qps: size each deployment at least this far below its "
                "predicted max QPS, % (default: size on the 80% interval's low end)"
            ),
        ] = None,
        headroom: Annotated[
            float | None, QueryParameter(description="headroom_pct, as `advise --headroom`")
        ] = None,
        max_gpus: FromQuery[int] = MAX_GPUS,
        engine_version: Annotated[
            str | None,
            QueryParameter(description="vLLM version to predict for (default: the newest)"),
        ] = None,
        price_list: Annotated[
            str | None,
            QueryParameter(
                description="a shipped price list by name (default: the default list; "
                "GET /v1/price-lists lists them). Your own prices: POST with `prices`",
                max_length=64,
            ),
        ] = None,
    ) -> Response[bytes]:
        """The cheapest format, GPU type and count within the targets (same as `advise --json`)."""
        if headroom is not None and headroom_pct is not None and headroom != headroom_pct:
            raise InvalidInputError("give headroom or headroom_pct, not both")
        # The query parameters keep their first names (gpu, ttft_ms, ...): Query accepts them.
        fields = {
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
            "percentile": percentile,
            "arrivals": arrivals,
            "headroom_pct": headroom_pct if headroom_pct is not None else headroom,
            "max_gpus": max_gpus,
            "engine_version": engine_version,
        }
        # Unset, they stay unset: the answer's defaults line names them.
        fields = {k: v for k, v in fields.items() if v is not None or k not in UNSET_NAMED}
        query = validated(Query, fields)  # a URL's worth of parameters: cheap on the loop
        # The hot path: a cached answer costs less than the hop to a worker thread.
        cached = engine.cached_now(advice_key(query, price_list))
        if cached is None:
            cached = await anyio.to_thread.run_sync(
                advice_bytes,
                engine,
                query,
                None,
                price_list,
                abandon_on_cancel=True,  # for the request time cap
            )
        return json_response(cached)

    @post(
        "/advice",
        sync_to_thread=True,
        responses=ADVICE_SPEC,
        status_code=200,
        dto=DeferredDTO[AdviceRequest],
        return_dto=None,
    )
    def advice_post(
        self, engine: NamedDependency[Engine], data: JSONBody[Deferred[AdviceRequest]]
    ) -> Response[bytes]:
        """The same as GET, with the query as a JSON body, and your own `prices` merged over
        the price list (with `prices_only`: used alone)."""
        request = data.parse()
        unset = UNSET_NAMED - request.model_fields_set
        query = Query.model_validate(request.model_dump(exclude={*PRICE_FIELDS, *unset}))
        return json_response(advice_bytes(engine, query, request))

    @get("/ask", sync_to_thread=True, responses=WORK_SPEC)
    def ask(
        self,
        engine: NamedDependency[Engine],
        q: Annotated[
            str, QueryParameter(description="a question in plain English", max_length=1000)
        ],
    ) -> AskResponse:
        """Advice for a question such as "best format for RAG on A100"; says how it read it."""
        understood, defaulted = read_question(q, engine.current().snapshot)
        body = json.loads(advice_bytes(engine, validated(Query, understood)))
        defaulted += [d for d in body["query"].get("defaults", []) if not d.startswith("model=")]
        return AskResponse(
            question=q,
            understood=understood,
            defaulted=defaulted,
            advice=AdviceResponse.model_validate(body),
        )

    @post(
        "/predict",
        sync_to_thread=True,
        status_code=200,
        responses=WORK_SPEC,
        dto=DeferredDTO[PredictBody],
        return_dto=None,
    )
    def predict_many(
        self, engine: NamedDependency[Engine], data: JSONBody[Deferred[PredictBody]]
    ) -> PredictResponse:
        """Predicted TTFT, ITL, latency, max QPS and cost for one or many configurations."""
        body = data.parse()
        advisor = engine.current()
        prices = request_prices(advisor.snapshot, body.price_list, body.prices, body.prices_only)
        results = predict(advisor, body.configurations, prices)
        rows = [
            {**c.model_dump(mode="json"), **r}
            for c, r in zip(body.configurations, results, strict=True)
        ]
        return PredictResponse.model_validate({"predictions": rows})
