"""The measurements CSV importer: good tables land in the views; bad ones change nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from advisor.errors import ImportRejectedError, UnknownNameError
from catalog.importers import measurements
from catalog.importers.common import ImportOptions
from catalog.store import ingest
from tests.catalog.test_bad_input import snapshot
from tests.conftest import fixture

TABLE = fixture("measurements", "published-table.csv")
HEADER = "model,format,gpu,gpu_count,prefill_tokens,decode_tokens,metric,value\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "table.csv"
    path.write_text(header + body)
    return path


def test_a_published_table_lands_in_the_views(con: duckdb.DuckDBPyConnection) -> None:
    (result,) = ingest(con, measurements.parse_result(TABLE))
    # Seven numbers: latency and TTFT of one shape are one cell; 3 sync and 2 async cells.
    assert not result.duplicate and result.rows == 5
    sync = con.execute(
        "SELECT format, use_case, prefill_tokens, latency_s, ttft_ms, itl_ms, engine, "
        "engine_version, source FROM sync_latency WHERE gpu = 'l40s' ORDER BY ALL"
    ).fetchall()
    url = "https://example.org/our-table"
    assert sync == [
        ("bf16", "rag", 1024, 2.1, 80.0, None, "vllm", "0.8.5", url),
        ("fp8", "rag", 1024, 1.3, None, None, "vllm", "0.8.5", url),
        ("fp8", None, 2048, None, 150.0, 9.5, "vllm", "0.8.5", url),
    ]
    qps = con.execute(
        "SELECT max_qps, ttft_limit_ms, itl_limit_ms, engine_version FROM async_throughput "
        "WHERE gpu = 'l40s' ORDER BY 1"
    ).fetchall()
    assert qps == [(6.5, 1000.0, 100.0, "0.8.5"), (9.0, None, None, "0.8.5")]
    kind, uri, details = con.execute(
        "SELECT kind, uri, details FROM sources WHERE source_id = ?", [result.source_id]
    ).fetchone()
    assert kind == "measurements" and uri == str(TABLE.resolve()) and '"rows": 7' in details


def test_ttft_and_itl_only_rows_reach_the_snapshot_as_their_latency(
    con: duckdb.DuckDBPyConnection,
) -> None:
    from catalog.snapshot import read_snapshot

    ingest(con, measurements.parse_result(TABLE))
    rows = [r for r in read_snapshot(con)["sync"] if r["gpu"] == "l40s"]
    # 2048/256 measured as TTFT 150 ms and ITL 9.5 ms: 0.150 + 255 x 0.0095 s.
    assert sorted(r["latency_s"] for r in rows) == pytest.approx([1.3, 2.1, 0.150 + 255 * 0.0095])


def test_importing_twice_is_a_no_op(con: duckdb.DuckDBPyConnection) -> None:
    ingest(con, measurements.parse_result(TABLE))
    before = snapshot(con)
    (again,) = ingest(con, measurements.parse_result(TABLE))
    assert again.duplicate and snapshot(con) == before


def test_the_engine_version_flag_fills_rows_that_do_not_say(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, "8b,bf16,h100,1,256,128,latency_s,1.0\n")
    ingest(con, measurements.parse_result(path, ImportOptions(engine_version="0.9.0")))
    found = con.execute(
        "SELECT engine, engine_version FROM sync_latency WHERE source LIKE 'measurements:%'"
    ).fetchall()
    assert found == [("vllm", "0.9.0")]


@pytest.mark.parametrize(
    ("header", "body", "message"),
    [
        (HEADER, "8b,bf16,h100,1,256,128,latency_ms,1.0\n", r"line 2: column 'metric'"),
        (HEADER, "8b,bf16,h100,1,256,128,latency_s,-1.0\n", r"line 2: column 'value'.*greater"),
        (HEADER, "8b,bf16,h100,1,256,128,latency_s,nan\n", r"line 2: column 'value'"),
        (HEADER, "8b,bf16,h100,1,256.5,128,latency_s,1.0\n", r"line 2: column 'prefill_tokens'"),
        (HEADER, "8b,fp4,h100,1,256,128,latency_s,1.0\n", r"line 2: unknown format 'fp4'"),
        (HEADER.replace(",value", ""), "8b,bf16,h100,1,256,128,latency_s\n", r"missing .*value"),
        (HEADER, "8b,bf16,h100,1,256,128,latency_s,1.0,extra\n", r"line 2: more values"),
        (HEADER, "", r"no rows"),
        (
            HEADER.replace("\n", ",ttft_limit_ms\n"),
            "8b,bf16,h100,1,256,128,latency_s,1.0,1000\n",
            r"limits belong to max_qps",
        ),
    ],
)
def test_bad_rows_are_refused_in_one_line(
    tmp_path: Path, header: str, body: str, message: str
) -> None:
    with pytest.raises(ImportRejectedError, match=message) as caught:
        measurements.parse_result(write(tmp_path, body, header))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ("9b,bf16,h100,1,256,128,latency_s,1.0\n", UnknownNameError, r"add-model"),
        ("8b,bf16,h1000,1,256,128,latency_s,1.0\n", UnknownNameError, r"unknown gpu 'h1000'"),
        (
            "8b,int8,b200,1,256,128,latency_s,1.0\n",
            ImportRejectedError,
            r"int8 does not run on b200 .*compute capability"
            r".*formats vLLM runs on b200: bf16, fp8, int4",
        ),
    ],
)
def test_names_and_formats_the_catalog_refuses_leave_it_unchanged(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, body: str, error: type, message: str
) -> None:
    # A good row first: all or nothing means it does not land either.
    path = write(tmp_path, "8b,bf16,h100,1,256,128,latency_s,1.0\n" + body)
    before = snapshot(con)
    with pytest.raises(error, match=message):
        ingest(con, measurements.parse_result(path))
    assert snapshot(con) == before


def test_a_cell_that_ended_early_is_flagged_not_refused(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "8b,bf16,h100,1,256,128,latency_s,1.0\n8b,bf16,h100,1,256,1024,latency_s,3.0\n",
    )
    ingest(con, measurements.parse_result(path))
    flag, reason = con.execute(
        "SELECT decode_flag, decode_reason FROM sync_latency "
        "WHERE source LIKE 'measurements:%' AND decode_tokens = 1024"
    ).fetchone()
    assert flag == "truncated" and reason.startswith("truncated: 3.0 s for 1024 tokens")
