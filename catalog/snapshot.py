"""Everything the advisor fits and searches over, read from the catalog in one go."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from catalog.db import Connection
from catalog.sqlfiles import sql

PARTS = ("models", "gpus", "use_cases", "sync", "async", "accuracy")


def _records(
    con: Connection, name: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    cursor = con.cursor()
    if params is None:
        cursor.execute(sql(name))
    else:
        cursor.execute(sql(name), params)
    columns = [d[0] for d in cursor.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def read_snapshot(con: Connection, price_list: str | None = None) -> dict[str, Any]:
    """Plain rows for `advisor.data.Snapshot`, plus a digest of their content."""
    document: dict[str, Any] = {part: _records(con, f"snapshot_{part}") for part in PARTS}
    document["names"] = _records(con, "names")
    document["prices"] = _records(con, "snapshot_prices", {"price_list": price_list})
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode())
    document["digest"] = digest.hexdigest()
    return document
