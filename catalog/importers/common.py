"""What every importer shares: reading the file, hashing it, and the flags that fill gaps."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from advisor.errors import ImportRejectedError
from advisor.vocabulary import Frozen


class ImportOptions(Frozen):
    """Flags that say what the file does not (or override what it says)."""

    model: str | None = Field(default=None, description="model id, alias, or HF id")
    format: str | None = Field(default=None, description="quantization format")
    gpu: str | None = Field(default=None, description="GPU type")
    gpu_count: int | None = Field(default=None, gt=0, description="GPUs serving the model")
    use_case: str | None = Field(default=None, description="use case id")
    suite: str | None = Field(default=None, description="accuracy suite name")
    method: str | None = Field(default=None, description="quantization algorithm")
    engine: str | None = Field(default=None, description="serving engine, e.g. vllm")
    engine_version: str | None = Field(
        default=None, description="serving engine version, where the file does not record it"
    )


def read_document(path: Path) -> tuple[bytes, Any]:
    """The file's bytes and its parsed JSON or YAML content."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportRejectedError(str(path), f"cannot read the file ({exc.strerror})") from exc
    if not raw.strip():
        raise ImportRejectedError(str(path), "the file is empty")
    try:
        if path.suffix.lower() in {".yaml", ".yml"}:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            return raw, yaml.load(raw, Loader=loader)
        return raw, json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImportRejectedError(
            str(path), f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    except yaml.YAMLError as exc:
        raise ImportRejectedError(str(path), f"not valid YAML ({exc})") from exc


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def dig(document: Any, *keys: str | int) -> Any:
    """document[k1][k2]...; None where any step is missing."""
    for key in keys:
        if isinstance(document, dict) and isinstance(key, str):
            document = document.get(key)
        elif (
            isinstance(document, list)
            and isinstance(key, int)
            and -len(document) <= key < len(document)
        ):
            document = document[key]
        else:
            return None
    return document


def rejected_validation(path: Path, where: str, exc: ValidationError) -> ImportRejectedError:
    """Turn a pydantic error into one line naming the file, the field and what is accepted."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    return ImportRejectedError(
        str(path), f"{where}: field {field!r} {first['msg'].lower()} (got {first.get('input')!r})"
    )
