"""Shared fixtures: a catalog built once per session from the embedded data, copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from catalog.build import open_catalog as connect

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def built_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("catalog") / "catalog.duckdb"
    connect(path).close()
    return path


@pytest.fixture
def catalog_file(built_catalog: Path, tmp_path: Path) -> Path:
    """A private copy of the embedded catalog that a test may change."""
    path = tmp_path / "catalog.duckdb"
    shutil.copy(built_catalog, path)
    return path


@pytest.fixture
def con(catalog_file: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(catalog_file)
    yield connection
    connection.close()


@pytest.fixture
def ro(built_catalog: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The shared embedded catalog, read-only."""
    connection = connect(built_catalog, read_only=True)
    yield connection
    connection.close()


def fixture(*parts: str) -> Path:
    return FIXTURES.joinpath(*parts)


@pytest.fixture(scope="session")
def snapshot(built_catalog: Path):
    from advisor.data import Snapshot
    from catalog.snapshot import read_snapshot

    connection = connect(built_catalog, read_only=True)
    try:
        return Snapshot.from_rows(read_snapshot(connection))
    finally:
        connection.close()


@pytest.fixture(scope="session")
def fitted(snapshot):
    from advisor.service import Advisor

    return Advisor.fit(snapshot)
