"""Models given as a Hugging Face `config.json` (a file or a model folder) on this machine.

The file is read here, at the edge; the advisor gets the parsed architecture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from advisor.architecture import architecture_from_config, quantized_format
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


WEIGHT_FILES = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf")


def holds_weights(folder: Path) -> bool:
    return any(next(folder.glob(pattern), None) is not None for pattern in WEIGHT_FILES)


def local_model(value: str) -> ModelSpec:
    """The model a config.json file or model folder describes, looked up by the path given.
    Its Hugging Face id is the config's `_name_or_path` when that names a hub repository (not
    a path on the machine that wrote it); its folder is where its checkpoints live, unless it
    holds no weights and names that repository: then it only describes the hub model."""
    path = Path(value).expanduser()
    config = load_config(path)
    folder = path if path.is_dir() else path.parent
    named = config.get("_name_or_path")
    hub = (
        isinstance(named, str)
        and named.count("/") == 1
        and not named.startswith((".", "/", "~"))
        and not Path(named).exists()
    )
    return ModelSpec(
        model=value,
        hf_id=named if hub else None,
        arch=architecture_from_config(config, value),
        local_path=None if hub and not holds_weights(folder) else str(folder.resolve()),
        quantized=quantized_format(config, value),
    )


def local_models(*values: str | None) -> list[ModelSpec]:
    """The models among `values` that are given as config files or model folders."""
    return [local_model(v) for v in dict.fromkeys(values) if v and looks_like_path(v)]
