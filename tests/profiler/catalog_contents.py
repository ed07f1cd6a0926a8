"""The rows a profiling run added to a catalog, without ids, host and timing: what a plan run
on Ray must leave exactly as the sequential run does."""

from __future__ import annotations

import json
from typing import Any

import duckdb

# The server's URL and command hold its port, picked afresh by each run.
VOLATILE = {"host", "base_url", "target", "engine_args", "imported_at", "started_at"}


def _steady(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


def contents(con: duckdb.DuckDBPyConnection, after_source: int) -> dict[str, list[Any]]:
    """Report paths carry the run's time and a search's digest the server's port: left out."""
    out: dict[str, list[Any]] = {}
    for view, drop in [
        ("load_points", {"load_point_id", "run_id", "source_id", "source", "duration_s"}),
        ("async_throughput", {"run_id", "source_id", "source"}),
        ("accuracy", {"run_id", "source_id", "source"}),
        ("runs", {"run_id", "source_id", "started_at", "args"}),
        ("sources", {"source_id", "uri", "sha256", "host", "imported_at"}),
    ]:
        cursor = con.execute(f"SELECT * FROM {view} WHERE source_id > ?", [after_source])
        names = [d[0] for d in cursor.description]
        rows = []
        for row in cursor.fetchall():
            kept = {n: v for n, v in zip(names, row, strict=True) if n not in drop}
            if "details" in kept:
                kept["details"] = _steady(json.loads(kept["details"] or "{}"))
            if "name" in kept:
                kept["name"] = str(kept["name"]).split("#")[0]
            rows.append(json.dumps(kept, sort_keys=True, default=str))
        out[view] = sorted(rows)
    return out
