"""Everything the advisor fits and searches over, read from the catalog in one go."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from catalog.db import Connection
from catalog.queries import records

# Every part is in the digest, so an import of any of them invalidates the fitted-model cache.
PARTS = (
    "models",
    "gpus",
    "format_support",
    "price_lists",
    "prices",
    "use_cases",
    "sync",
    "async",
    "accuracy",
    "load_points",
    "checkpoints",
)


def read_snapshot(con: Connection) -> dict[str, Any]:
    """Plain rows for `advisor.data.Snapshot`, plus a digest of their content."""
    document: dict[str, Any] = {part: records(con, f"snapshot_{part}") for part in PARTS}
    document["names"] = records(con, "names")
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode())
    document["digest"] = digest.hexdigest()
    return document
