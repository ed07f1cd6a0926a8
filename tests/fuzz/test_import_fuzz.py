"""Mutations of the tools' real output files, driven by hypothesis: every case is either
accepted with values the advisor can use, or refused in one line with the catalog unchanged;
never a traceback. Afterwards `advise` still answers on the catalog that took every accepted
case (the attack of issue 13 as a standing test)."""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.data import Snapshot
from advisor.errors import AdvisorError
from api.cli import advise
from catalog.build import open_catalog
from catalog.importers import guidellm, lm_eval, measurements
from catalog.importers.common import ImportOptions
from catalog.queries import answerable, counts
from catalog.records import Batch
from catalog.snapshot import read_snapshot
from catalog.store import ingest
from tests.conftest import fixture

GPU_RUN = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)
LM_RUN = ImportOptions(model="8b", format="fp8", suite="leaderboard_v1")
Parser = Callable[[Path, ImportOptions | None], Batch]
JSON_FIXTURES: list[tuple[Path, Parser, ImportOptions]] = [
    (fixture("guidellm", "guidellm-0.2.1-synchronous.json"), guidellm.parse_result, GPU_RUN),
    (fixture("guidellm", "guidellm-0.4.0-synchronous.json"), guidellm.parse_result, GPU_RUN),
    (fixture("guidellm", "guidellm-0.7.4-poisson.json"), guidellm.parse_result, GPU_RUN),
    (fixture("guidellm", "guidellm-0.8.1-concurrent-labels.json"), guidellm.parse_result, GPU_RUN),
    (fixture("lm_eval", "lm-eval-0.4.13-hf-2shot.json"), lm_eval.parse_result, LM_RUN),
    (fixture("lm_eval", "lm-eval-0.4.13-hf-limit2-group.json"), lm_eval.parse_result, LM_RUN),
]
CSV_FIXTURE = fixture("measurements", "published-table.csv")
SKIPPED_KEYS = {"requests", "pdf"}  # per-request samples and histograms: no importer reads them
ODD_VALUES: list[Any] = [
    -1,
    0,
    1e-9,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    True,
    False,
    None,
    "",
    "x" * 300,
    "\ud800",
    2**31,
    2**63,
    10**30,
    [],
    {},
    "1e400",
    0.5,
    5.0,
    "../../etc/passwd",
]
ODD_CELLS = ["-1", "0", "1e-9", "1e308", "nan", "inf", "true", "", "x" * 300, "2147483648"]
EXAMPLES = 240


def leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        yield path
        for key, value in node.items():
            if key not in SKIPPED_KEYS:
                yield from leaf_paths(value, (*path, key))
    elif isinstance(node, list):
        yield path
        for index, value in enumerate(node[:3]):
            yield from leaf_paths(value, (*path, index))
    else:
        yield path


DOCUMENTS = [json.loads(p.read_text()) for p, _, _ in JSON_FIXTURES]
PATHS = [[p for p in leaf_paths(d) if p] for d in DOCUMENTS]


def mutated(document: Any, path: tuple[Any, ...], kind: str, value: Any) -> Any:
    document = copy.deepcopy(document)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if kind == "replace":
        parent[last] = value
    elif kind == "delete":
        del parent[last]
    elif kind == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif kind == "nest":
        nested: Any = parent[last]
        for _ in range(200):
            nested = [nested]
        parent[last] = nested
    return document


@st.composite
def json_case(draw: st.DrawFn) -> tuple[int, bytes]:
    which = draw(st.integers(0, len(JSON_FIXTURES) - 1))
    path = PATHS[which][draw(st.integers(0, len(PATHS[which]) - 1))]
    kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "duplicate", "nest"]))
    value = draw(st.sampled_from(ODD_VALUES))
    text = json.dumps(mutated(DOCUMENTS[which], path, kind, value))
    raw = text.encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none", "none", "none", "truncate", "bad-byte"]))
    if damage == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif damage == "bad-byte":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + b"\xff\xfe" + raw[at:]
    return which, raw


@st.composite
def csv_case(draw: st.DrawFn) -> bytes:
    rows = list(csv.reader(io.StringIO(CSV_FIXTURE.read_text())))
    row = draw(st.integers(1, len(rows) - 1))
    column = draw(st.integers(0, len(rows[0]) - 1))
    rows[row][column] = draw(st.sampled_from(ODD_CELLS))
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def catalog(built_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("fuzz") / "catalog.duckdb"
    shutil.copy(built_catalog, path)
    yield path


class Tally:
    accepted = 0
    refused = 0


def attempt(
    con: duckdb.DuckDBPyConnection, path: Path, parser: Parser, options: ImportOptions | None
) -> None:
    before = counts(con)
    try:
        ingest(con, parser(path, options))
    except AdvisorError as exc:
        message = str(exc)
        assert "\n" not in message and "Traceback" not in message, message
        assert len(message) < 2000, message[:300]
        assert counts(con) == before
        Tally.refused += 1
        return
    answerable(con)
    snapshot = Snapshot.from_rows(read_snapshot(con))
    assert snapshot.skipped == [], snapshot.skipped[:3]  # the import checked what the fit needs
    Tally.accepted += 1


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=json_case())
def test_mutated_tool_reports(catalog: Path, tmp_path: Path, case: tuple[int, bytes]) -> None:
    which, raw = case
    source, parser, options = JSON_FIXTURES[which]
    path = tmp_path / source.name
    path.write_bytes(raw)
    con = open_catalog(catalog)
    try:
        attempt(con, path, parser, options)
    finally:
        con.close()


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=csv_case())
def test_mutated_measurements(catalog: Path, tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "measurements.csv"
    path.write_bytes(raw)
    con = open_catalog(catalog)
    try:
        attempt(con, path, measurements.parse_result, None)
    finally:
        con.close()


def test_advise_answers_after_every_accepted_case(catalog: Path) -> None:
    """Runs after the two fuzz tests (file order): the catalog holds every accepted case."""
    result = CliRunner().invoke(
        advise, ["--catalog", str(catalog), "--model", "8b", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["recommendation"]["format"]
    print(f"fuzz: {Tally.accepted} accepted, {Tally.refused} refused")
