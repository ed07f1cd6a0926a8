"""`advisor serve`: the HTTP service on uvicorn."""

from __future__ import annotations

import click

from api.settings import Settings


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
    from api.http.server import run

    click.echo(listening(ctx.obj, host, port, workers), err=True)
    run(ctx.obj, host, port, workers, log_level)


def listening(settings: Settings, host: str, port: int, workers: int) -> str:
    """Where the service listens, the catalog it answers from, and whether imports are on."""
    where = f"[{host}]" if ":" in host else host
    address = f"http://{where}:{port}" if port else f"http://{where} on a port the system picks"
    processes = f"{workers} worker{'s' if workers != 1 else ''}"
    imports = (
        "imports enabled (bearer token)"
        if settings.imports_enabled
        else "imports disabled (set ADVISOR_IMPORT_TOKEN to enable)"
    )
    return (
        f"advisor serving on {address} ({processes}); page at /, OpenAPI at /schema\n"
        f"catalog: {settings.catalog_path}; {imports}"
    )
