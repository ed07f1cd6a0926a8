"""Migration 003 rebuilds two tables: an existing catalog keeps every row and its ids."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from catalog import db, sqlfiles
from catalog.snapshot import read_snapshot


def test_a_002_catalog_migrates_with_its_rows() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " checksum VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    for version, name, text in sqlfiles.migrations()[:2]:
        con.execute(text)
        con.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
            [version, name, sqlfiles.checksum(text), datetime.now(UTC).replace(tzinfo=None)],
        )
    con.execute("INSERT INTO formats VALUES ('bf16', 'BF16', 16, 16, 'float', 'bf16', NULL, 'x')")
    con.execute(
        "INSERT INTO model_specs (model, params_b, layers, hidden_size, heads, kv_heads, head_dim,"
        " intermediate_size, vocab_size, tied_embeddings, origin) "
        "VALUES ('m', 1, 1, 8, 1, 1, 8, 8, 8, false, 'user')"
    )
    con.execute(
        "INSERT INTO gpu_specs VALUES ('g', 'G', 'nvidia', 'ampere', 1, 1, 1, NULL, NULL, 'p', 1,"
        " 8, 's')"
    )
    con.execute(
        "INSERT INTO sources (kind, name, uri, sha256, imported_at) "
        "VALUES ('guidellm', 'r.json', '/r.json', repeat('a', 64), now())"
    )
    con.execute(
        "INSERT INTO runs (source_id, model, format, gpu, gpu_count) "
        "VALUES (1, 'm', 'bf16', 'g', 1)"
    )
    con.execute(
        "INSERT INTO sync_results (run_id, prefill_tokens, decode_tokens, latency_s) "
        "VALUES (1, 256, 128, 1.5)"
    )
    assert db.migrate(con) == [name for _, name, _ in sqlfiles.migrations()[2:]]
    assert con.execute(
        "SELECT model, latency_s, source, engine, ttft_ms FROM sync_latency"
    ).fetchall() == [("m", 1.5, "guidellm:r.json", None, None)]
    # The id sequence carries on: the next source does not reuse id 1.
    (new_id,) = con.execute(
        "INSERT INTO sources (kind, name, uri, sha256, imported_at) "
        "VALUES ('measurements', 't.csv', '/t.csv', repeat('b', 64), now()) RETURNING source_id"
    ).fetchone()
    assert new_id == 2
    assert len(read_snapshot(con)["sync"]) == 1
