"""A row that slips into the catalog past the importers (an older version, a hand edit) is
skipped and reported when the advisor reads the catalog: never fatal to every answer."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from advisor.data import Snapshot
from api.cli import advise
from catalog.build import open_catalog
from catalog.snapshot import read_snapshot


def poison(catalog: Path) -> None:
    con = open_catalog(catalog)
    try:
        # A NaN score: DuckDB stores it, and no recovery can be computed from it.
        con.execute(
            "UPDATE accuracy_results SET score = 'nan'::DOUBLE WHERE rowid = "
            "(SELECT min(rowid) FROM accuracy_results)"
        )
    finally:
        con.close()


def test_a_poisoned_row_is_skipped_and_reported(catalog_file: Path) -> None:
    poison(catalog_file)
    con = open_catalog(catalog_file, read_only=True)
    try:
        snapshot = Snapshot.from_rows(read_snapshot(con))
    finally:
        con.close()
    # The row itself, and the recoveries computed against it as their BF16 baseline.
    assert snapshot.skipped
    assert {s.part for s in snapshot.skipped} == {"accuracy"}
    assert all("finite number" in s.reason for s in snapshot.skipped)
    assert len(snapshot.accuracy) > 100  # the other rows are all there


def test_advise_still_answers_on_a_poisoned_catalog(catalog_file: Path) -> None:
    poison(catalog_file)
    result = CliRunner().invoke(advise, ["--model", "8b", "--json", "--catalog", str(catalog_file)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["recommendation"]["format"]
