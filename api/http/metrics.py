"""Prometheus metrics through Litestar's plugin, in prometheus_client's multiprocess mode when
PROMETHEUS_MULTIPROC_DIR is set (as `advisor serve` does): `/metrics` then sums every worker."""

from __future__ import annotations

import os

from litestar import Response, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest, multiprocess

from api.runtime import Engine

BUCKETS_S: list[str | float] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0
]  # fmt: skip
MEDIA_TYPE = "text/plain; version=0.0.4"  # the text format prometheus_client writes

# One gauge set per process. Multiprocess modes: every worker reads the same catalog, so the most
# recent value is the catalog's; cached answers are per worker, so they add up.
CATALOG_ROWS = Gauge(
    "advisor_catalog_rows",
    "Rows the advisor fits on, by kind.",
    ["kind"],
    multiprocess_mode="mostrecent",
)
FIT_SECONDS = Gauge(
    "advisor_fit_seconds",
    "Time to load or fit the models at the last (re)load.",
    multiprocess_mode="mostrecent",
)
CACHE_ENTRIES = Gauge(
    "advisor_answer_cache_entries",
    "Answers cached, summed over the live worker processes.",
    multiprocess_mode="livesum",
)


def prometheus_config() -> PrometheusConfig:
    """Requests and their durations by route template (never the raw path: bounded labels)."""
    return PrometheusConfig(
        app_name="quant-advisor",
        prefix="advisor_http",
        group_path=True,
        buckets=BUCKETS_S,
        exclude_unhandled_paths=True,
    )


def observe_engine(engine: Engine) -> None:
    """Engine's `on_change` hook: the gauges follow every (re)load and cached answer."""
    snapshot = engine.advisor.snapshot
    CATALOG_ROWS.labels(kind="sync").set(len(snapshot.sync))
    CATALOG_ROWS.labels(kind="async").set(len(snapshot.async_))
    CATALOG_ROWS.labels(kind="accuracy").set(len(snapshot.accuracy))
    FIT_SECONDS.set(engine.fit_seconds)
    CACHE_ENTRIES.set(engine.cached_entries())


def exposition() -> bytes:
    """Every worker's metrics in multiprocess mode, else this process's."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


class MetricsController(PrometheusController):
    """The plugin's controller with this service's operation: tag, name and media type."""

    path = "/metrics"

    # Named `get` to replace the plugin's own handler; the operation keeps its first name.
    @get(
        "",
        sync_to_thread=True,  # reads one file per worker and metric
        media_type=MEDIA_TYPE,
        tags=["operations"],
        summary="ServeMetrics",
        operation_id="MetricsServeMetrics",
    )
    def get(self) -> Response[bytes]:
        """Prometheus metrics of every worker process of this server."""
        return Response(exposition(), media_type=MEDIA_TYPE)
