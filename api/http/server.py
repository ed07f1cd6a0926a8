"""Start the service: build the catalog once, give the workers one metrics folder, run uvicorn."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from api.settings import Settings
from catalog.build import open_catalog

# uvicorn imports this in every worker process; it builds Settings from ADVISOR_*.
FACTORY = "api.app:app_from_environment"


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
                create_app(settings), host=host, port=port, log_level=log_level, access_log=False
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
        )
    finally:
        if metrics_dir is not None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(metrics_dir, ignore_errors=True)
