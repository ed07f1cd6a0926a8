"""Build the fitted advisor for a catalog: from the on-disk cache when the catalog's content and
the package version match, else fitted and cached. Also reads price files."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import pickle
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from advisor import __version__
from advisor.data import Snapshot
from advisor.errors import InvalidInputError
from advisor.hardware import PriceList, parse_price_rows
from advisor.service import Advisor
from api.settings import Settings
from catalog.build import open_catalog
from catalog.snapshot import read_snapshot


def load_snapshot(settings: Settings) -> Snapshot:
    con = open_catalog(settings.catalog_path, read_only=True)
    try:
        return Snapshot.from_rows(read_snapshot(con))
    finally:
        con.close()


@cache
def code_digest() -> str:
    """Hash of the advisor's own source: a changed model class never meets an old pickle."""
    digest = hashlib.sha256(__version__.encode())
    for entry in sorted(resources.files("advisor").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            digest.update(entry.read_bytes())
    return digest.hexdigest()


def cache_file(settings: Settings, snapshot: Snapshot) -> Path:
    key = f"{snapshot.digest[:20]}-{code_digest()[:12]}"
    return settings.model_cache_path / f"advisor-{__version__}-{key}.pickle"


def load_advisor(settings: Settings) -> Advisor:
    """The fitted advisor; an import changes the snapshot digest, so a cache is never stale."""
    return fitted_advisor(settings, load_snapshot(settings))


def fitted_advisor(settings: Settings, snapshot: Snapshot) -> Advisor:
    """The advisor fitted on `snapshot`, from the on-disk cache when it holds one."""
    path = cache_file(settings, snapshot)
    try:
        with path.open("rb") as f:
            cached = pickle.load(f)  # our own file, keyed by content and code
        if isinstance(cached, Advisor) and cached.snapshot.digest == snapshot.digest:
            return cached
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    advisor = Advisor.fit(snapshot)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(advisor, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # atomic: concurrent readers see the old file or the new one
    except OSError:
        pass  # a read-only cache folder only costs the fit next time
    return advisor


def read_prices(path: Path) -> PriceList:
    """A price list from CSV (gpu, gpu_count, usd_per_hour | usd_per_gpu_hour) or YAML (the same
    rows as a list, or a mapping gpu -> USD per GPU-hour, or gpu -> {count: USD per hour})."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read the price file ({exc.strerror})") from exc
    rows: list[dict[str, Any]]
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"{path}: not valid YAML ({exc})") from exc
        if isinstance(document, dict) and "prices" in document:
            document = document["prices"]
        if isinstance(document, list):
            rows = [dict(r) for r in document if isinstance(r, dict)]
        elif isinstance(document, dict):
            rows = []
            for gpu, value in document.items():
                if isinstance(value, dict):
                    rows += [
                        {"gpu": gpu, "gpu_count": c, "usd_per_hour": v} for c, v in value.items()
                    ]
                else:
                    rows.append({"gpu": gpu, "gpu_count": 1, "usd_per_gpu_hour": value})
        else:
            raise InvalidInputError(f"{path}: expected a list of price rows or a gpu -> price map")
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    return parse_price_rows(rows, path.name)
