"""The one composition root of the HTTP service: `create_app(settings)`."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from advisor import __version__
from api.http.advice import AdviceController
from api.http.catalog import CatalogController
from api.http.docs import LocalSwaggerPlugin, swagger_assets
from api.http.imports import ImportsController, SourcesController
from api.http.limits import RequestTimeout
from api.http.metrics import MetricsController, observe_engine, prometheus_config
from api.http.operations import OperationsController
from api.http.pages import PagesController
from api.http.problems import problem_details_plugin
from api.http.security import add_security_headers
from api.runtime import Engine
from api.settings import Settings


def create_app(settings: Settings) -> Litestar:
    """The service over `settings`' catalog; each process that serves it builds its own."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Opens the catalog and loads (or fits) the models once, off the loop.
        engine = await anyio.to_thread.run_sync(lambda: Engine(settings, observe_engine))
        if settings.imports_enabled:
            # An import refits in this process, and a fit's first run imports scikit-learn,
            # whose extension modules hold the GIL for up to 400 ms: pay that here, once.
            await anyio.to_thread.run_sync(importlib.import_module, "advisor.estimators")
        app.state.engine = engine
        try:
            yield
        finally:
            engine.close()

    # Uploads may be large; every other body is JSON of a few KB (an advice document: ~70 KB).
    uploads = Router(
        path="/", route_handlers=[ImportsController], request_max_body_size=settings.max_body_bytes
    )
    return Litestar(
        route_handlers=[
            AdviceController,
            CatalogController,
            uploads,
            SourcesController,
            OperationsController,
            MetricsController,
            PagesController,
            swagger_assets(),
        ],
        lifespan=[lifespan],
        state=State({"settings": settings}),
        plugins=[problem_details_plugin()],
        middleware=[prometheus_config().middleware, RequestTimeout(settings)],
        before_send=[add_security_headers],
        openapi_config=OpenAPIConfig(
            title="quant-advisor",
            version=__version__,
            path="/schema",
            description="Deployment advice for quantized LLMs.",
            render_plugins=[LocalSwaggerPlugin()],
        ),
        request_max_body_size=settings.max_json_body_bytes,
        debug=False,
    )


def app_from_environment() -> Litestar:
    """Factory for ASGI servers and `advisor serve --workers N`: settings from ADVISOR_*."""
    return create_app(Settings())
