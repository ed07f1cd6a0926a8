"""`/metrics` of a two-worker server counts the requests of both workers, whichever answers."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import get

N = 40
# On a loaded machine one worker can take a long run of connections: keep asking (bounded)
# until both have answered.
MAX_REQUESTS = 600


def requests_total(text: str, path: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "advisor_http_requests_total"
                and sample.labels.get("path") == path
                and sample.labels.get("status_code") == "200"
            ):
                return float(sample.value)
    return 0.0


def scrape(base: str) -> str:
    with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        return str(response.read().decode())


def test_metrics_count_every_worker(server: str, tmp_path: Path) -> None:
    sent = 0
    pids: set[str] = set()
    while sent < N or (len(pids) < 2 and sent < MAX_REQUESTS):
        # A new connection each: the kernel hands them to either worker.
        assert get(server + "/v1/formats")[0] == 200
        sent += 1
        # One file per worker process that counted something.
        (folder,) = (tmp_path / "tmp").glob("advisor-metrics-*")
        pids = {f.stem.rsplit("_", 1)[1] for f in folder.glob("counter_*.db")}
    assert len(pids) == 2, pids  # both workers answered requests
    # Every scrape, whichever worker serves it, reports all of them.
    for _ in range(8):
        assert requests_total(scrape(server), "/v1/formats") == sent
    text = scrape(server)
    assert any(
        s.name == "advisor_catalog_rows" and s.labels == {"kind": "sync"} and s.value == 108 + 291
        for family in text_string_to_metric_families(text)
        for s in family.samples
    )
