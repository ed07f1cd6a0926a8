"""Load the catalog's SQL files by name (parameters are always bound, never formatted in)."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources


@cache
def sql(name: str) -> str:
    """The statement in `catalog/sql/<name>.sql`."""
    return resources.files("catalog.sql").joinpath(f"{name}.sql").read_text()


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, text) of every migration, in order."""
    found = []
    for entry in resources.files("catalog.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text()))
    return sorted(found)


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
