"""`advisor serve`: the HTTP service on uvicorn."""

from __future__ import annotations

import click

from api.settings import Settings
from catalog.build import open_catalog


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (each loads the fitted models once).",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, log_level: str) -> None:
    """Start the HTTP service (Litestar on uvicorn); OpenAPI at /schema.

    Import endpoints are enabled only when ADVISOR_IMPORT_TOKEN is set (bearer token).
    """
    run(ctx.obj, host, port, workers, log_level)


def run(settings: Settings, host: str, port: int, workers: int, log_level: str) -> None:
    """The server until it is stopped (to be replaced by `api.http.server.run`)."""
    import os

    import uvicorn

    open_catalog(settings.catalog_path, read_only=True).close()  # build it once, before the workers
    if workers == 1:
        from api.app import create_app

        uvicorn.run(
            create_app(settings), host=host, port=port, log_level=log_level, access_log=False
        )
        return
    # Worker processes build their own Settings from the environment: hand the flags down.
    os.environ["ADVISOR_CATALOG"] = str(settings.catalog_path)
    uvicorn.run(
        "api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )
