"""Liveness and readiness (the metrics are in `api.http.metrics`)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec

from api.http.deps import ENGINE
from api.http.problems import clip
from api.runtime import Engine
from api.schemas import Health
from catalog import queries


class OperationsController(Controller):
    path = "/"
    tags = ("operations",)
    dependencies = ENGINE

    @get("/healthz", sync_to_thread=False)
    def healthz(self) -> Health:
        """The process is alive."""
        # On the event loop on purpose: it answers while worker threads fit or import.
        return Health(status="ok")

    @get(
        "/readyz",
        sync_to_thread=True,  # may reload the fit, and opens the catalog under its lock
        responses={503: ResponseSpec(data_container=Health, description="not ready")},
    )
    def readyz(self, engine: NamedDependency[Engine]) -> Response[Health]:
        """The catalog is readable, every public view reads whole, and the models are fitted
        on its current content."""
        try:
            engine.current()
            if engine.access.writable and engine.access.generation() != engine.generation:
                engine.reload_now()  # changed since the last check: fails if it cannot be fitted
            rows = engine.access.read(queries.answerable)
        except Exception as exc:
            return Response(Health(status=f"not ready: {clip(str(exc))}"), status_code=503)
        # The file's name only: a response names no server path.
        skipped = [f"{s.part}: {s.row}: {s.reason}" for s in engine.advisor.snapshot.skipped]
        return Response(
            Health(
                status="ready",
                catalog=engine.settings.catalog_path.name,
                rows=rows,
                skipped=skipped[:20],
            )
        )
