"""Start the service: build the catalog once, give the workers one metrics folder, run uvicorn."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any

from api.settings import Settings
from catalog.build import open_catalog

# uvicorn imports this in every worker process; it builds Settings from ADVISOR_*.
FACTORY = "api.app:app_from_environment"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's guards against slow and greedy clients, from the settings. The request head is
    bounded by the HTTP parser: httptools (the default with uvicorn[standard]) refuses one over
    its own 80 KiB with 400, h11 (the fallback) at `max_request_head_bytes`."""
    return {
        "h11_max_incomplete_event_size": settings.max_request_head_bytes,
        "timeout_keep_alive": settings.timeout_keep_alive_s,
        "timeout_graceful_shutdown": settings.timeout_graceful_shutdown_s,
        "limit_concurrency": settings.limit_concurrency,
    }


def run(settings: Settings, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve until stopped: one process, or `workers` processes sharing the port."""
    import uvicorn

    open_catalog(settings.catalog_path, read_only=True).close()  # build it once, before workers
    metrics_dir = None
    # prometheus_client picks its value store when it is first imported: the folder must be
    # set before that, in this process (one worker) or in the ones uvicorn spawns.
    if workers > 1 or "prometheus_client" not in sys.modules:
        metrics_dir = tempfile.mkdtemp(prefix="advisor-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        if workers == 1:
            from api.app import create_app

            uvicorn.run(
                create_app(settings),
                host=host,
                port=port,
                log_level=log_level,
                access_log=False,
                **uvicorn_options(settings),
            )
            return
        # Worker processes build their own Settings from the environment: hand the flags down.
        os.environ["ADVISOR_CATALOG"] = str(settings.catalog_path)
        uvicorn.run(
            FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            **uvicorn_options(settings),
        )
    finally:
        if metrics_dir is not None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(metrics_dir, ignore_errors=True)
