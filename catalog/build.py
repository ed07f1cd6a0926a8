"""The catalog a process opens: built or brought up to date first when missing or stale.

Composes the three steps that live apart: `db.connect` opens, `db.migrate` migrates and
`seed.seed` loads the embedded data.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from advisor.errors import CatalogError
from catalog.db import (
    Connection,
    connect,
    first_line,
    meta,
    migrate,
    pending_migrations,
    refuse_foreign,
    refuse_unreadable,
)
from catalog.seed import seed, seed_digest


def is_current(con: Connection) -> bool:
    """Whether the schema is fully migrated and the embedded study data is loaded as shipped."""
    try:
        if pending_migrations(con):
            return False
        return meta(con, "seed_digest") == seed_digest()
    except duckdb.Error:
        return False


def open_catalog(path: Path, *, read_only: bool = False) -> Connection:
    """Open the catalog, building or updating it first when it is missing or stale.

    A read-only open that finds the file current never takes the write lock, so any number of
    reading processes can share one catalog.
    """
    path = path.expanduser()
    if read_only and path.exists():
        con = connect(path, read_only=True)
        try:
            current = is_current(con)
            if current:
                refuse_unreadable(con, path)
        except BaseException:
            con.close()
            raise
        if current:
            return con
        con.close()
    con = connect(path)
    try:
        refuse_foreign(con, path)  # first: someone else's database is never read whole
        refuse_unreadable(con, path)
        migrate(con)
        seed(con)
    except duckdb.Error as exc:  # a file damaged past what `connect` can see
        con.close()
        raise CatalogError(f"cannot build or migrate catalog {path}: {first_line(exc)}") from exc
    except BaseException:
        con.close()
        raise
    if read_only:
        con.close()
        return connect(path, read_only=True)
    return con
