"""Open a catalog file and migrate its schema. One connection per process; cursors per thread.

Building (migrate, then seed) is composed by `catalog.build.open_catalog`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from advisor.errors import CatalogError
from catalog.sqlfiles import checksum, migrations

Connection = duckdb.DuckDBPyConnection


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
    """Open a DuckDB file, nothing more: migrating and seeding are `migrate` and
    `catalog.seed.seed`, composed by `catalog.build.open_catalog`."""
    path = path.expanduser()
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        mode = "" if read_only else " for writing"
        raise CatalogError(f"cannot open catalog {path}{mode}: {first_line(exc)}") from exc


def refuse_unreadable(con: Connection, path: Path) -> None:
    """Read every table whole. DuckDB opens a file cut short (a full disk, an interrupted copy)
    or damaged, and fails only at the first read of a missing or corrupt block: this finds
    that at the open, in one line naming the file. A few tens of milliseconds for a catalog."""
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()
    # The names are the catalog's own, quoted; hashing each row reads every column.
    whole = " UNION ALL ".join(
        'SELECT count(*), bit_xor(hash(t)) FROM "{}" AS t'.format(name.replace('"', '""'))
        for (name,) in tables
    )
    if not whole:
        return
    try:
        con.execute(whole).fetchall()
    except duckdb.Error as exc:
        raise CatalogError(
            f"catalog {path} cannot be read, cut short or damaged ({first_line(exc)}); restore "
            "it from a copy, or name another file (--catalog, ADVISOR_CATALOG)"
        ) from exc


def first_line(exc: BaseException) -> str:
    """DuckDB's message without the query excerpt and caret it adds on later lines."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
