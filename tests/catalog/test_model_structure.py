"""A model added to the catalog is read back as its config.json describes it: experts, latent
attention, sliding windows, and the format of an already-quantized checkpoint (migration 005)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from advisor.architecture import architecture_from_config, quantized_format
from advisor.data import Snapshot
from advisor.errors import InvalidInputError
from advisor.hardware import ModelSpec
from advisor.structure import Architecture, Experts, LatentAttention
from advisor.vocabulary import Format
from catalog import db, queries, sqlfiles
from catalog.model_config import load_config
from catalog.snapshot import read_snapshot
from tests.conftest import FIXTURES

CONFIGS = sorted(p.name for p in (FIXTURES / "configs").iterdir() if p.is_dir())


def from_config(name: str) -> Architecture:
    folder = FIXTURES / "configs" / name
    return architecture_from_config(load_config(folder), str(folder))


def quantized(name: str) -> Format | None:
    return quantized_format(load_config(FIXTURES / "configs" / name))


def read_back(con: duckdb.DuckDBPyConnection) -> dict[str, ModelSpec]:
    return {m.model: m for m in Snapshot.from_rows(read_snapshot(con)).models}


def test_the_fixtures_hold_each_part_the_catalog_stores() -> None:
    """The round trip below covers experts, latent attention and sliding windows."""
    archs = {name: from_config(name) for name in ("mixtral-8x7b", "gemma-2-2b", "deepseek-v2-lite")}
    assert archs["mixtral-8x7b"].experts is not None
    assert archs["mixtral-8x7b"].active_params_b is not None
    assert archs["gemma-2-2b"].sliding_layers and archs["gemma-2-2b"].sliding_window
    assert archs["deepseek-v2-lite"].latent_attention is not None
    assert archs["deepseek-v2-lite"].experts is not None
    assert archs["deepseek-v2-lite"].experts.shared_intermediate_size > 0


def test_every_config_reads_back_as_the_architecture_it_describes(
    con: duckdb.DuckDBPyConnection,
) -> None:
    for name in CONFIGS:
        source = f"tests/fixtures/configs/{name}"
        queries.add_model(con, name, from_config(name), None, source, quantized(name))
    stored = read_back(con)
    for name in CONFIGS:
        assert stored[name].arch == from_config(name), name
        assert stored[name].quantized == quantized(name), name
    # The fixtures hold base models and checkpoints in two formats (DeepSeek-V3 ships FP8).
    assert {stored[name].quantized for name in CONFIGS} == {None, Format.FP8, Format.INT4}


def test_the_models_view_shows_the_structure(con: duckdb.DuckDBPyConnection) -> None:
    queries.add_model(con, "mixtral-8x7b", from_config("mixtral-8x7b"), None, "config.json")
    queries.add_model(con, "deepseek-v2-lite", from_config("deepseek-v2-lite"), None, "c.json")
    found = con.execute(
        "SELECT model, experts.routed, experts.per_token, latent_attention.kv_lora_rank, "
        "round(active_params_b, 1) FROM models WHERE origin = 'user' ORDER BY model"
    ).fetchall()
    assert found == [("deepseek-v2-lite", 64, 6, 512, 2.7), ("mixtral-8x7b", 8, 2, None, 12.9)]


def test_updating_a_model_replaces_its_structure(con: duckdb.DuckDBPyConnection) -> None:
    queries.add_model(con, "m", from_config("mixtral-8x7b"), None, "moe.json")
    queries.add_model(con, "m", from_config("ministral-8b"), None, "dense.json")
    queries.add_model(con, "q", from_config("gpt-oss-20b"), None, "moe.json", Format.INT4)
    queries.add_model(con, "q", from_config("gpt-oss-20b"), None, "bf16.json")
    stored = read_back(con)
    assert stored["m"].arch == from_config("ministral-8b")
    assert stored["q"].quantized is None


def test_the_stored_parts_have_the_fields_of_the_architecture(
    ro: duckdb.DuckDBPyConnection,
) -> None:
    """DuckDB fills a struct field the value lacks with NULL and drops one the struct lacks:
    the columns must list exactly the fields of the advisor's types."""
    kinds = dict(
        ro.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'model_specs'"
        ).fetchall()
    )
    for column, part in (("experts", Experts), ("latent_attention", LatentAttention)):
        fields = [f.split()[0] for f in kinds[column].removeprefix("STRUCT(")[:-1].split(", ")]
        assert fields == list(part.model_fields), column
    stored = set(kinds) - {"origin", "source"}
    assert stored == {"model", "hf_id", "quantized", *Architecture.model_fields}


def test_a_004_catalog_migrates_and_its_models_stay_dense() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " checksum VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    for version, name, text in sqlfiles.migrations()[:4]:
        con.execute(text)
        con.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
            [version, name, sqlfiles.checksum(text), datetime.now(UTC).replace(tzinfo=None)],
        )
    con.execute(
        "INSERT INTO model_specs (model, family, architecture, params_b, layers, hidden_size,"
        " heads, kv_heads, head_dim, intermediate_size, vocab_size, tied_embeddings, origin) "
        "VALUES ('m', 'llama', 'LlamaForCausalLM', 1, 1, 8, 1, 1, 8, 8, 8, false, 'user')"
    )
    assert db.migrate(con) == ["005_model_structure.sql"]
    (row,) = queries.records(con, "snapshot_models")
    assert {k: row[k] for k in ("experts", "latent_attention", "sliding_layers")} == {
        "experts": None,
        "latent_attention": None,
        "sliding_layers": 0,
    }
    spec = read_back(con)["m"]
    assert spec.arch.experts is None and spec.arch.active_b == 1 and spec.quantized is None


def test_a_study_model_cannot_be_overwritten(con: duckdb.DuckDBPyConnection) -> None:
    before = read_back(con)["llama-3.1-8b-instruct"]
    with pytest.raises(InvalidInputError, match="embedded study models"):
        queries.add_model(con, "llama-3.1-8b-instruct", from_config("mixtral-8x7b"), None, "x")
    assert read_back(con)["llama-3.1-8b-instruct"] == before
