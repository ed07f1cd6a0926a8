"""What every importer shares: reading the file, hashing it, and the flags that fill gaps."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from advisor.errors import AdvisorError, ImportRejectedError
from advisor.vocabulary import Frozen
from catalog.records import Batch


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


# Bounded parsing: what any importer reads before it looks at a single field.
MAX_FILE_BYTES = 128 * 2**20  # GuideLLM reports with every request sampled stay well below
MAX_DEPTH = 64  # nesting of objects and lists; the tools' own reports go to about 8
MAX_VALUES = 2_000_000  # values after YAML alias expansion (a "billion laughs" file stops here)


def read_bounded(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES (a FIFO or /dev/zero would hang
    or never end)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ImportRejectedError(
                str(path), "not a regular file (a folder, FIFO or device); give the report file"
            )
        if info.st_size > MAX_FILE_BYTES:
            raise ImportRejectedError(
                str(path), f"{info.st_size:,} bytes; at most {MAX_FILE_BYTES:,} are read"
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ImportRejectedError(str(path), f"cannot read the file ({exc.strerror})") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ImportRejectedError(str(path), f"more than {MAX_FILE_BYTES:,} bytes")
    return raw


LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC).timestamp()


def utc_time(value: Any, what: str) -> datetime | None:
    """A UNIX time as UTC (None: not given); anything not a time between 1970 and 2100 is
    refused rather than stored (an infinite or NaN time breaks every later read)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{what} {value!r} is not a UNIX time")
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a UNIX time") from None
    if not 0 <= seconds < LATEST_TIME:  # also false for NaN
        raise ValueError(f"{what} {value!r} is not a UNIX time between 1970 and 2100")
    return datetime.fromtimestamp(seconds, UTC)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number; write null for a missing value")


def _check_tree(path: Path, document: Any) -> None:
    """Depth, size after alias expansion, and text that is valid Unicode (JSON's \\ud800
    escapes decode to lone surrogates, which no database column can hold)."""
    stack: list[tuple[Any, int]] = [(document, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ImportRejectedError(
                str(path),
                f"holds more than {MAX_VALUES:,} values (YAML aliases expanding?); "
                "tool reports are far smaller",
            )
        if depth > MAX_DEPTH:
            raise ImportRejectedError(str(path), f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            for key, value in node.items():
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ImportRejectedError(
                    str(path), f"holds text that is not valid Unicode ({exc.reason})"
                ) from None


def read_document(path: Path) -> tuple[bytes, Any]:
    """The file's bytes and its parsed JSON or YAML content: a regular UTF-8 file, bounded in
    size, depth and expanded values."""
    raw = read_bounded(path)
    if not raw.strip():
        raise ImportRejectedError(str(path), "the file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejectedError(
            str(path), f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        if path.suffix.lower() in {".yaml", ".yml"}:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            document = yaml.load(text, Loader=loader)
        else:
            document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ImportRejectedError(
            str(path), f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    except yaml.YAMLError as exc:
        raise ImportRejectedError(str(path), f"not valid YAML ({_short(str(exc))})") from exc
    except RecursionError:
        raise ImportRejectedError(str(path), f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # NaN / Infinity, or an integer of more than 4,300 digits
        raise ImportRejectedError(str(path), f"not valid JSON ({_short(str(exc))})") from None
    _check_tree(path, document)
    return raw, document


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more)"


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
    place = f"field {field!r} " if field else ""
    message = first["msg"].removeprefix("Value error, ")
    got = "" if first["type"] == "value_error" else f" (got {_short(repr(first.get('input')), 80)})"
    return ImportRejectedError(
        str(path), f"{where}: {place}{message[:1].lower()}{message[1:]}{got}"
    )


def guarded(parse: Callable[..., Batch]) -> Callable[..., Batch]:
    """Whatever an importer meets in a file, the caller gets a Batch or one line naming the file:
    never a traceback. The importers raise their own precise refusals; this is the net under
    them for a malformed file that reaches code expecting another shape."""

    @functools.wraps(parse)
    def read(path: Path, options: ImportOptions | None = None) -> Batch:
        try:
            return parse(path, options)
        except AdvisorError:
            raise
        except ValidationError as exc:
            raise rejected_validation(path, "the file", exc) from exc
        except (
            TypeError,
            ValueError,
            KeyError,
            IndexError,
            AttributeError,
            OverflowError,
            RecursionError,
        ) as exc:
            kind = type(exc).__name__
            raise ImportRejectedError(
                str(path), f"has a value of the wrong shape ({kind}: {_short(str(exc))})"
            ) from exc

    return read
