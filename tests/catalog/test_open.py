"""A catalog file that cannot be read is refused at the open in one line naming it, on the
library's side and on the command line; a catalog whose views cannot be computed is not
answerable."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from advisor.errors import CatalogError
from api.cli import cli
from catalog import queries
from catalog.build import open_catalog
from catalog.importers import guidellm
from catalog.importers.common import ImportOptions
from catalog.store import ingest
from tests.conftest import fixture

BLOCK = 262_144  # DuckDB's block size
HEADERS = 12_288  # its file header and two database headers


def cut(blocks: int) -> Callable[[bytes], bytes]:
    return lambda data: data[: len(data) - blocks * BLOCK]


def zero_block(block_id: int) -> Callable[[bytes], bytes]:
    start = HEADERS + block_id * BLOCK
    return lambda data: data[:start] + bytes(BLOCK) + data[start + BLOCK :]


DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "not duckdb": lambda data: b"model,gpu\n8b,h100\n" * 100,
    "cut to its headers": lambda data: data[:12_288],
    "cut in its metadata": lambda data: data[:300_000],
    # Opens, reads as migrated and seeded, and fails only when a table is read whole.
    "two blocks short": cut(2),
    "a data block zeroed": zero_block(1),
}


@pytest.fixture(params=list(DAMAGES), ids=list(DAMAGES))
def damaged(request: pytest.FixtureRequest, built_catalog: Path, tmp_path: Path) -> Path:
    path = tmp_path / "catalog.duckdb"
    path.write_bytes(DAMAGES[request.param](built_catalog.read_bytes()))
    return path


@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "writable"])
def test_a_damaged_catalog_is_refused_in_one_line_naming_it(damaged: Path, read_only: bool) -> None:
    before = damaged.read_bytes()
    with pytest.raises(CatalogError) as caught:
        open_catalog(damaged, read_only=read_only).close()
    message = str(caught.value)
    assert str(damaged) in message and "\n" not in message
    assert damaged.read_bytes() == before  # never "repaired" by a build over it


def test_the_command_line_says_so_without_a_traceback(damaged: Path) -> None:
    result = CliRunner().invoke(cli, ["--catalog", str(damaged), "catalog", "info"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and str(damaged) in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_an_intact_copy_opens(built_catalog: Path, tmp_path: Path) -> None:
    path = tmp_path / "catalog.duckdb"
    shutil.copy(built_catalog, path)
    open_catalog(path, read_only=True).close()


def test_a_view_that_cannot_be_computed_makes_the_catalog_unanswerable(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert queries.answerable(con)["sync_latency rows"] > 0
    (result,) = ingest(
        con,
        guidellm.parse_result(
            fixture("guidellm", "guidellm-0.8.1-sweep.json"),
            ImportOptions(model="8b", format="bf16", gpu="l4", gpu_count=1),
        ),
    )
    # The poison of the issue: a prompt mean past INTEGER where the run gives no token count.
    con.execute("UPDATE runs SET prefill_tokens = NULL WHERE source_id = ?", [result.source_id])
    con.execute(
        "UPDATE benchmarks SET prompt_tokens_mean = 3e9 WHERE run_id IN "
        "(SELECT run_id FROM runs WHERE source_id = ?)",
        [result.source_id],
    )
    counted = queries.counts(con)  # a count skips the column that fails
    assert counted["load_points rows"] == 4
    with pytest.raises(CatalogError, match=r"^the \w+ view cannot be read: Conversion Error"):
        queries.answerable(con)
