"""The consistency check: latency grows linearly with output tokens; cells that fall short are
flagged with the reason and never fitted on. Run on the study's and the cards' real rows."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import duckdb

from catalog.hygiene import Measured, check

DATA = Path(__file__).resolve().parents[2] / "data"


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open() as f:
        return list(csv.DictReader(f))


def cell(decode: int, latency: float, config: str = "a") -> Measured:
    return Measured(
        configuration=(config,), prefill_tokens=256, decode_tokens=decode, latency_s=latency
    )


def test_linear_cells_pass_and_a_short_one_is_flagged_with_its_numbers() -> None:
    cells = [cell(128, 1.2), cell(256, 2.5), cell(1024, 9.8), cell(1024, 3.7, "b"), cell(128, 1.0)]
    assert check(cells) == {}
    verdicts = check([cell(128, 1.2), cell(256, 2.6), cell(1024, 3.7)])
    assert list(verdicts) == [2]
    assert verdicts[2].flag == "truncated"
    assert verdicts[2].reason == (
        "truncated: 3.7 s for 1024 tokens is below half the 9.6 s that this configuration's "
        "128- and 256-token cells imply (9.4 ms a token; measured 39% of it)"
    )


def test_well_short_is_suspect_and_a_flagged_cell_is_no_reference() -> None:
    verdicts = check([cell(128, 1.0), cell(256, 1.5), cell(512, 1.9)])
    assert verdicts[1].flag == "suspect" and verdicts[1].share == 1.5 / 2.0
    # 512 is compared with the 128-token cell only (7.8 ms a token), not with the flagged one.
    assert verdicts[2].expected_s == 4.0 and verdicts[2].flag == "truncated"


def test_every_shape_of_the_study_is_checked() -> None:
    tokens = {r["use_case"]: r for r in read("use_cases.csv")}
    rows = read("study_sync.csv")
    cells = [
        Measured(
            configuration=(r["model"], r["gpu"], r["gpu_count"], r["format"]),
            prefill_tokens=int(tokens[r["use_case"]]["prefill_tokens"]),
            decode_tokens=int(tokens[r["use_case"]]["decode_tokens"]),
            latency_s=float(r["latency_s"]),
        )
        for r in rows
    ]
    verdicts = check(cells)
    found = Counter((rows[i]["use_case"], v.flag) for i, v in verdicts.items())
    # Every 1,024-token cell but two is under half its configuration's trend; two 256-token
    # (multi-turn chat) cells of 70B INT4 are at 74% of it.
    assert found == {
        ("code_completion", "truncated"): 18,
        ("code_fixing", "truncated"): 16,
        ("code_fixing", "suspect"): 2,
        ("multi_turn_chat", "suspect"): 2,
    }
    chat = {
        (rows[i]["model"], rows[i]["gpu"], rows[i]["format"])
        for i, v in verdicts.items()
        if rows[i]["use_case"] == "multi_turn_chat"
    }
    assert chat == {("70b", "a6000", "int4"), ("70b", "h100", "int4")}


def test_the_cards_full_length_outputs_pass() -> None:
    rows = [r for r in read("cards_performance.csv") if r["metric"] == "latency_s"]
    cells = [
        Measured(
            configuration=(r["model"], r["format"], r["gpu"], r["n_gpus"]),
            prefill_tokens=int(r["prefill_tokens"]),
            decode_tokens=int(r["decode_tokens"]),
            latency_s=float(r["value"]),
        )
        for r in rows
    ]
    assert len(cells) == 291
    assert check(cells) == {}


def test_stored_flags_combine_both_rules_with_reasons(ro: duckdb.DuckDBPyConnection) -> None:
    study = "source LIKE 'study:%'"
    flags = dict(
        ro.execute(
            f"SELECT decode_flag, count(*) FROM sync_latency WHERE {study} AND decode_flag "
            "IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    assert flags == {"truncated": 36, "suspect": 5}
    assert ro.execute(
        "SELECT count(*) FROM sync_latency WHERE decode_flag IS NOT NULL AND decode_reason IS NULL"
    ).fetchone() == (0,)
    changed = ro.execute(
        f"SELECT model, gpu, gpu_count, format, use_case, decode_flag FROM sync_latency "
        f"WHERE {study} AND decode_reason LIKE '%imply%' AND use_case NOT LIKE 'code_%' "
        "ORDER BY ALL"
    ).fetchall()
    assert changed == [
        ("llama-3.1-70b-instruct", "a6000", 2, "int4", "multi_turn_chat", "suspect"),
        ("llama-3.1-70b-instruct", "h100", 1, "int4", "multi_turn_chat", "suspect"),
    ]
    assert ro.execute(
        "SELECT count(*) FROM sync_latency "
        "WHERE source LIKE 'https://%' AND decode_flag IS NOT NULL"
    ).fetchone() == (0,)
