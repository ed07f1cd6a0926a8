"""Open, migrate and (re)build the catalog file. One connection per process; cursors per thread."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb

from advisor.errors import CatalogError
from catalog.sqlfiles import checksum, migrations

Connection = duckdb.DuckDBPyConnection

SEED_FILES = (
    "aliases.csv",
    "formats.csv",
    "gpus.csv",
    "models.csv",
    "price_lists.csv",
    "prices.csv",
    "study_accuracy.csv",
    "study_async.csv",
    "study_sync.csv",
    "use_cases.csv",
)


@cache
def seed_digest() -> str:
    """Digest of the embedded data and the schema: a change in either rebuilds the study rows."""
    digest = hashlib.sha256()
    data = resources.files("catalog.seed_data")
    for name in SEED_FILES:
        digest.update(name.encode())
        digest.update(data.joinpath(name).read_bytes())
    for version, _, text in migrations():
        digest.update(f"{version}:{checksum(text)}".encode())
    return digest.hexdigest()


@contextmanager
def transaction(con: Connection) -> Iterator[Connection]:
    """All or nothing: a failure anywhere inside leaves the catalog as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def applied_migrations(con: Connection) -> dict[int, str]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = con.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(version): str(check) for version, check in rows}


def pending_migrations(con: Connection) -> list[tuple[int, str, str]]:
    applied = applied_migrations(con)
    pending = []
    for version, name, text in migrations():
        if version in applied:
            if applied[version] != checksum(text):
                raise CatalogError(
                    f"migration {name} differs from the one applied to this catalog; "
                    "migrations are forward-only: add a new numbered file instead of editing one"
                )
            continue
        pending.append((version, name, text))
    return pending


def migrate(con: Connection) -> list[str]:
    """Apply pending migrations, each in its own transaction, recording its checksum."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " checksum VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = []
    for version, name, text in pending_migrations(con):
        with transaction(con):
            con.execute(text)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                [version, name, checksum(text), datetime.now(UTC).replace(tzinfo=None)],
            )
        done.append(name)
    return done


def meta(con: Connection, key: str) -> str | None:
    row = con.execute("SELECT value FROM catalog_meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def is_current(con: Connection) -> bool:
    """Whether the schema is fully migrated and the embedded study data is loaded as shipped."""
    try:
        if pending_migrations(con):
            return False
        return meta(con, "seed_digest") == seed_digest()
    except duckdb.Error:
        return False


def refuse_foreign(con: Connection, path: Path) -> None:
    """Never write the catalog's tables into someone else's DuckDB database."""
    if applied_migrations(con):
        return
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchone()
    if found and found[0]:
        raise CatalogError(
            f"{path} is a DuckDB database but not an advisor catalog (it has tables and no "
            "schema_migrations); name a new file or an existing catalog"
        )


def connect(path: Path, *, read_only: bool = False) -> Connection:
    """Open the catalog, building or updating it first when it is missing or stale.

    A read-only open that finds the file current never takes the write lock, so any number of
    reading processes can share one catalog.
    """
    from catalog.seed import load_seed  # here, not at the top: the seed imports this module

    path = path.expanduser()
    if read_only and path.exists():
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise CatalogError(f"cannot open catalog {path}: {exc}") from exc
        if is_current(con):
            return con
        con.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise CatalogError(f"cannot open catalog {path} for writing: {exc}") from exc
    try:
        refuse_foreign(con, path)
        migrate(con)
        digest = seed_digest()
        if meta(con, "seed_digest") != digest:
            load_seed(con, digest)
    except BaseException:
        con.close()
        raise
    if read_only:
        con.close()
        return duckdb.connect(str(path), read_only=True)
    return con
