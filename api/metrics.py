"""Prometheus metrics of one server process: requests and latencies per route."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import defaultdict
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = defaultdict(
            lambda: [0] * (len(BUCKETS_S) + 1)
        )
        self.sums: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests[(route, method, status)] += 1
        self.buckets[(route, method)][bisect_left(BUCKETS_S, seconds)] += 1
        self.sums[(route, method)] += seconds

    def render(self, gauges: dict[str, tuple[str, list[tuple[str, float]]]]) -> str:
        """The text exposition format; `gauges` maps a name to (help, [(labels, value)])."""
        lines = [
            "# HELP advisor_http_requests_total HTTP requests served, by route, method and status.",
            "# TYPE advisor_http_requests_total counter",
        ]
        for (route, method, status), n in sorted(self.requests.items()):
            labels = f'route="{route}",method="{method}",status="{status}"'
            lines.append(f"advisor_http_requests_total{{{labels}}} {n}")
        lines += [
            "# HELP advisor_http_request_duration_seconds Time to serve a request.",
            "# TYPE advisor_http_request_duration_seconds histogram",
        ]
        for (route, method), counts in sorted(self.buckets.items()):
            labels = f'route="{route}",method="{method}"'
            running = 0
            for bound, count in zip((*BUCKETS_S, float("inf")), counts, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(
                    f'advisor_http_request_duration_seconds_bucket{{{labels},le="{le}"}} {running}'
                )
            total = self.sums[(route, method)]
            lines.append(f"advisor_http_request_duration_seconds_sum{{{labels}}} {total:.6f}")
            lines.append(f"advisor_http_request_duration_seconds_count{{{labels}}} {running}")
        for name, (help_text, values) in gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            for labels, value in values:
                lines.append(f"{name}{{{labels}}} {value:g}" if labels else f"{name} {value:g}")
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Times every HTTP request by its route template (not its raw path, to bound cardinality)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route: Any = scope.get("path_template") or "unmatched"
            self.metrics.observe(
                str(route), str(scope.get("method", "")), status, time.perf_counter() - started
            )
