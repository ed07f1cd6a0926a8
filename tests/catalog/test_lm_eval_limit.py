"""lm-eval `--limit` runs: aggregate (group) rows are flagged `limited` like their tasks, on a
real grouped run (lm-eval 0.4.13, `--tasks tiny_suite --limit 2`: tests/fixtures/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from catalog.importers import lm_eval
from catalog.importers.common import ImportOptions
from catalog.records import AccuracyRow
from catalog.store import ingest
from tests.conftest import fixture

GROUPED = fixture("lm_eval", "lm-eval-0.4.13-hf-limit2-group.json")
FULL = fixture("lm_eval", "lm-eval-0.4.13-hf-2shot.json")
EIGHT_B = ImportOptions(model="8b", format="bf16")


def rows_of(path: Path) -> dict[tuple[str, str], AccuracyRow]:
    batch = lm_eval.parse_result(path, EIGHT_B)
    return {(r.task, r.metric): r for r in batch.runs[0].accuracy}


def test_the_group_rows_of_a_limit_run_are_limited() -> None:
    document = json.loads(GROUPED.read_text())
    assert document["group_subtasks"] == {"tiny_suite": ["tiny_mc", "tiny_gen"]}
    assert "tiny_suite" not in document["n-samples"]  # lm-eval counts no documents for a group
    rows = rows_of(GROUPED)
    group = [r for (task, _), r in rows.items() if task == "tiny_suite"]
    assert {r.metric for r in group} == {"acc", "exact_match"}
    assert all(r.limited for r in rows.values())
    # The group's documents are its subtasks': 20 + 10 in the data sets, 2 + 2 evaluated.
    assert {(r.n_samples, r.n_samples_effective) for r in group} == {(30, 4)}
    assert rows[("tiny_mc", "acc")].suite == "tiny_suite"


def test_a_full_run_of_a_group_is_not_limited(tmp_path: Path) -> None:
    document = json.loads(GROUPED.read_text())
    for counts in document["n-samples"].values():
        counts["effective"] = counts["original"]
    path = tmp_path / "full.json"
    path.write_text(json.dumps(document))
    rows = rows_of(path)
    assert not any(r.limited for r in rows.values())
    assert rows[("tiny_suite", "acc")].n_samples_effective == 30
    assert not any(r.limited for r in rows_of(FULL).values())


def test_a_nested_group_takes_its_flag_from_any_limited_task(tmp_path: Path) -> None:
    document = json.loads(GROUPED.read_text())
    document["n-samples"]["tiny_mc"]["effective"] = 20  # only tiny_gen was cut short
    document["group_subtasks"]["outer"] = ["tiny_suite"]
    document["results"]["outer"] = {"alias": "outer", "acc,none": 0.5}
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(document))
    rows = rows_of(path)
    assert not rows[("tiny_mc", "acc")].limited and rows[("tiny_gen", "exact_match")].limited
    assert rows[("tiny_suite", "acc")].limited and rows[("outer", "acc")].limited
    assert rows[("outer", "acc")].n_samples_effective == 22


def test_the_catalog_keeps_the_flag(con: duckdb.DuckDBPyConnection) -> None:
    ingest(con, lm_eval.parse_result(GROUPED, EIGHT_B))
    assert con.execute(
        "SELECT DISTINCT task, limited FROM accuracy WHERE source LIKE 'lm-eval:%' ORDER BY task"
    ).fetchall() == [("tiny_gen", True), ("tiny_mc", True), ("tiny_suite", True)]
