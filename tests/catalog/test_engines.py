"""Engine and engine version on every measurement, in the views and the snapshot."""

from __future__ import annotations

import duckdb

from advisor.data import Snapshot
from catalog.importers import guidellm
from catalog.importers.common import ImportOptions
from catalog.snapshot import read_snapshot
from catalog.store import ingest
from tests.catalog.test_bad_input import H100, SWEEP

CONTRACTED = {"sync_latency": "source", "async_throughput": "source", "load_points": "source"}


def test_views_append_engine_columns(ro: duckdb.DuckDBPyConnection) -> None:
    for view in CONTRACTED:
        names = [d[0] for d in ro.execute(f"SELECT * FROM {view} LIMIT 0").description]
        assert names.index("engine") > names.index("source") and "engine_version" in names


def test_snapshot_rows_carry_the_engine(ro: duckdb.DuckDBPyConnection) -> None:
    snap = read_snapshot(ro)
    for part in ("sync", "async"):
        versions = {r["engine_version"] for r in snap[part]}
        assert versions == {"0.6.1.post2", "0.7.2", "0.6.6.post1"}, part


def test_the_advisor_reads_the_new_fields(ro: duckdb.DuckDBPyConnection) -> None:
    snap = Snapshot.from_rows(read_snapshot(ro))
    flagged = [c for c in snap.sync if c.decode_flag]
    assert flagged and all(c.decode_reason for c in flagged)
    assert {c.engine_version for c in snap.async_} == {"0.6.1.post2", "0.7.2", "0.6.6.post1"}
    assert {c.protocol for c in snap.accuracy} == {"P1", "P2", "P3"}


def test_guidellm_engine_version_from_the_flag(con: duckdb.DuckDBPyConnection) -> None:
    options = H100.model_copy(update={"engine_version": "0.10.1"})
    ingest(con, guidellm.parse_result(SWEEP, options))
    found = con.execute(
        "SELECT DISTINCT engine, engine_version FROM load_points WHERE source LIKE 'guidellm:%'"
    ).fetchall()
    assert found == [("vllm", "0.10.1")]


def test_guidellm_engine_version_the_profiler_recorded(con: duckdb.DuckDBPyConnection) -> None:
    batch = guidellm.parse_result(SWEEP, H100)
    source = batch.source.model_copy(
        update={"details": {**batch.source.details, "engine": "vllm", "engine_version": "0.9.2"}}
    )
    ingest(con, batch.model_copy(update={"source": source}))
    found = con.execute(
        "SELECT DISTINCT engine_version FROM load_points WHERE source LIKE 'guidellm:%'"
    ).fetchall()
    assert found == [("0.9.2",)]


def test_unknown_engine_is_null(con: duckdb.DuckDBPyConnection) -> None:
    ingest(con, guidellm.parse_result(SWEEP, ImportOptions(**H100.model_dump())))
    found = con.execute(
        "SELECT DISTINCT engine, engine_version FROM load_points WHERE source LIKE 'guidellm:%'"
    ).fetchall()
    assert found == [(None, None)]
