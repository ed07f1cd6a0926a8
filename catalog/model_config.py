"""Models given as a Hugging Face `config.json` (a file or a model folder) on this machine.

The file is read here, at the edge; the advisor gets the parsed architecture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from advisor.architecture import architecture_from_config
from advisor.errors import InvalidInputError
from advisor.hardware import ModelSpec


def load_config(path: Path) -> dict[str, Any]:
    """Read config.json from a file or a model folder."""
    file = path / "config.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise InvalidInputError(
            f"{file}: no such file (give a config.json or a model folder)"
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{file}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise InvalidInputError(f"{file}: expected a JSON object")
    return data


def looks_like_path(value: str) -> bool:
    """A `--model` value naming a config.json file or a model folder, not a catalog name."""
    try:
        return value.endswith(".json") or Path(value).expanduser().is_dir()
    except (OSError, RuntimeError, ValueError):
        return False


def local_model(value: str) -> ModelSpec:
    """The model a config.json file or model folder describes, named by the path given."""
    path = Path(value).expanduser()
    return ModelSpec(model=value, arch=architecture_from_config(load_config(path), value))


def local_models(*values: str | None) -> list[ModelSpec]:
    """The models among `values` that are given as config files or model folders."""
    return [local_model(v) for v in dict.fromkeys(values) if v and looks_like_path(v)]
