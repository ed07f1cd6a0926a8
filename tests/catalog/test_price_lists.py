"""The shipped GPUs and price lists: rebuilt from the dated tables they come from, by the rule
data/README.md states, and shown with their dates and sources in the catalog."""

from __future__ import annotations

import csv
import importlib.util
import statistics
import sys
from pathlib import Path

import duckdb
import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_price_lists.py"
FIGURES = {
    "memory_gib": "memory_gib",
    "bf16_tflops": "bf16_dense_tflops",
    "fp8_tflops": "fp8_dense_tflops",
    "int8_tops": "int8_dense_tops",
    "fp4_tflops": "fp4_dense_tflops",
    "interconnect_gbps": "interconnect_gbps_per_gpu",
}


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="") as f:
        return list(csv.DictReader(f))


def builder():  # scripts/ is not a package: load the script as a module
    spec = importlib.util.spec_from_file_location("build_price_lists", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_shipped_lists_are_what_the_rule_builds_from_the_table() -> None:
    lists, rows = builder().build_from(DATA)
    assert read("price_lists.csv") == lists
    assert read("prices.csv") == rows


def test_the_default_is_the_median_of_the_specialised_clouds_per_offer_size() -> None:
    table = read("gpu_prices_2026.csv")
    hyperscalers = {"AWS", "Google Cloud", "Azure", "Oracle OCI"}
    # One H100 SXM, on demand, dated, from a cloud that is not a hyperscaler, a marketplace or
    # a serverless tier; each provider's distinct price once.
    singles = {
        (r["provider"], float(r["usd_per_instance_hour"]))
        for r in table
        if r["gpu"] == "H100 SXM"
        and r["gpus_per_instance"] == "1"
        and r["as_of"] != "undated"
        and r["provider"] not in hyperscalers
        and "marketplace" not in f"{r['provider']} {r['region']}"
        and "serverless" not in f"{r['provider']} {r['region']}"
    }
    default = {
        (r["gpu"], int(r["gpu_count"])): float(r["usd_per_hour"])
        for r in read("prices.csv")
        if r["price_list"] == "market-2026-11"
    }
    assert len(singles) == 10
    assert default[("h100", 1)] == pytest.approx(statistics.median(p for _, p in singles))
    # Node prices stay apart: Lambda's and CoreWeave's 8-GPU H100 nodes, $31.92 and $49.24.
    assert default[("h100", 8)] == pytest.approx((31.92 + 49.24) / 2)
    assert default[("h100", 8)] / 8 != pytest.approx(default[("h100", 1)])


def test_every_catalog_gpu_has_a_default_price_and_fallbacks_say_so() -> None:
    gpus = {r["gpu"] for r in read("gpus.csv")}
    default = [r for r in read("prices.csv") if r["price_list"] == "market-2026-11"]
    assert {r["gpu"] for r in default} == gpus
    fallback = {r["gpu"]: r["fallback"] for r in default if r["fallback"]}
    # No specialised cloud lists them: the hyperscalers do; nobody lists the last three.
    assert fallback == {
        "a10g": "hyperscalers",
        "gb300": "hyperscalers",
        "l4": "hyperscalers",
        "a5000": "nearest_gpu",
        "mi325x": "nearest_gpu",
        "mi355x": "nearest_gpu",
    }
    estimated = [r for r in default if r["fallback"] == "nearest_gpu"]
    assert all(r["basis"].startswith("estimated: ") for r in estimated)
    assert {r["basis"].split("priced as ")[1].split(",")[0] for r in estimated} == {
        "a6000",
        "mi300x",
    }


def test_the_readme_cautions_are_heeded() -> None:
    aws = {
        (r["gpu"], int(r["gpu_count"])): float(r["usd_per_hour"])
        for r in read("prices.csv")
        if r["price_list"] == "aws-2026-11"
    }
    # The stale pre-June-2025 p5 price ($98.32) is left out; the current one ($55.04) is kept.
    assert aws[("h100", 8)] == pytest.approx(55.04)
    # The g6e multi-GPU prices conflict between sources: only the single-GPU one is kept.
    assert [c for g, c in aws if g == "l40s"] == [1]
    # Marketplace and serverless prices are not list prices: Akash's $1.71 A100 is not used.
    default = [r for r in read("prices.csv") if r["price_list"] == "market-2026-11"]
    a100 = next(r for r in default if r["gpu"] == "a100" and r["gpu_count"] == "1")
    assert "Akash" not in a100["basis"] and "Vast" not in a100["basis"]


def test_the_study_list_is_kept_as_printed() -> None:
    study = [
        (r["gpu"], int(r["gpu_count"]), r["usd_per_hour"])
        for r in read("prices.csv")
        if r["price_list"] == "lambda-2024-10-28"
    ]
    assert study == [
        ("a6000", 1, "0.80"),
        ("a6000", 2, "1.60"),
        ("a6000", 4, "3.20"),
        ("a100", 8, "14.32"),
        ("h100", 1, "3.29"),
        ("h100", 2, "6.38"),
        ("h100", 4, "12.36"),
        ("h100", 8, "23.92"),
    ]
    lists = {r["price_list"]: r for r in read("price_lists.csv")}
    assert [name for name, r in lists.items() if r["is_default"] == "true"] == ["market-2026-11"]
    assert lists["lambda-2026-09-20"]["as_of"] == "2026-09-20"


def test_gpu_figures_are_the_specs_table_but_for_the_estimates() -> None:
    specs = {r["gpu"]: r for r in read("gpu_specs_2026.csv")}
    checked = 0
    for gpu in read("gpus.csv"):
        estimated = set(filter(None, gpu["estimated_fields"].split(";")))
        missing = set(filter(None, gpu["missing_fields"].split(";")))
        assert not estimated & missing, gpu["gpu"]
        for field in missing:
            assert gpu[field] == "", (gpu["gpu"], field)
        if not gpu["source"].startswith("gpu_specs_2026.csv '"):
            continue  # the A5000: the table has no figures; its row names the datasheet
        spec = specs[gpu["source"].split("'")[1]]
        assert spec["source_url"] in gpu["source"]
        bandwidth = float(spec["mem_bw_tbps"]) * 1000
        assert float(gpu["mem_bw_gbps"]) == pytest.approx(bandwidth), gpu["gpu"]
        for field, column in FIGURES.items():
            if field in estimated:
                assert gpu[field], (gpu["gpu"], field)  # an estimate fills the figure in
                continue
            mine, theirs = gpu[field], spec[column]
            assert (float(mine) if mine else None) == (float(theirs) if theirs else None), (
                gpu["gpu"],
                field,
            )
        checked += 1
    assert checked == 19


def test_estimates_are_stated_in_the_source() -> None:
    for gpu in read("gpus.csv"):
        if gpu["estimated_fields"] or gpu["missing_fields"]:
            assert "estimate" in gpu["source"] or "no " in gpu["source"], gpu["gpu"]


def test_format_support_covers_every_gpu_architecture() -> None:
    support = {(r["vendor"], r["architecture"], r["format"]): r for r in read("format_support.csv")}
    for gpu in read("gpus.csv"):
        for fmt in ("bf16", "fp8", "int8", "int4"):
            row = support[(gpu["vendor"], gpu["architecture"], fmt)]
            assert row["source"] and (row["support"] == "native" or row["note"]), row
    assert support[("nvidia", "ampere", "fp8")]["support"] == "weight_only"
    assert support[("nvidia", "blackwell", "int8")]["support"] == "no"
    assert support[("amd", "cdna3", "int8")]["support"] == "no"
    assert support[("amd", "cdna3", "int4")]["support"] == "no"
    assert "not listed" in support[("amd", "cdna3", "int4")]["note"]


def test_price_points_show_every_list_with_its_date_and_source(
    ro: duckdb.DuckDBPyConnection,
) -> None:
    columns = [d[0] for d in ro.execute("SELECT * FROM price_points LIMIT 0").description]
    for column in (
        "price_list",
        "gpu",
        "gpu_count",
        "usd_per_hour",
        "usd_per_gpu_hour",
        "as_of",
        "source",
        "provider",
        "sku",
    ):
        assert column in columns
    lists = dict(
        ro.execute(
            "SELECT price_list, count(*) FROM price_points "
            "WHERE as_of IS NOT NULL AND source <> '' GROUP BY 1"
        ).fetchall()
    )
    assert set(lists) == {r["price_list"] for r in read("price_lists.csv")}
    assert ro.execute(
        "SELECT provider, sku, usd_per_gpu_hour FROM price_points "
        "WHERE price_list = 'aws-2026-11' AND gpu = 'h100' AND gpu_count = 8"
    ).fetchone() == ("AWS", "p5.48xlarge", pytest.approx(6.88))


def test_gpus_view_says_what_is_missing_and_how_each_is_priced(
    ro: duckdb.DuckDBPyConnection,
) -> None:
    rows = {
        r[0]: r[1:]
        for r in ro.execute(
            "SELECT gpu, vendor, usd_per_gpu_hour, price_fallback, missing_fields, "
            "estimated_fields FROM gpus"
        ).fetchall()
    }
    assert len(rows) == len(read("gpus.csv"))
    assert all(usd is not None and usd > 0 for _, usd, *_ in rows.values())
    assert rows["mi325x"] == (
        "amd",
        pytest.approx(3.02),
        "nearest_gpu",
        "int8_tops",
        "interconnect_gbps",
    )
    assert rows["h100"][0] == "nvidia" and rows["h100"][2:] == (None, None, None)


def test_a_reseed_drops_entries_no_longer_shipped(con: duckdb.DuckDBPyConnection) -> None:
    from catalog.seed import load_seed, seed_digest

    con.execute(
        "INSERT INTO prices (price_list, gpu, gpu_count, usd_per_hour) "
        "VALUES ('market-2026-11', 'h100', 3, 1.0)"
    )
    load_seed(con, seed_digest())
    assert con.execute(
        "SELECT count(*) FROM prices WHERE price_list = 'market-2026-11' AND gpu_count = 3"
    ).fetchone() == (0,)
