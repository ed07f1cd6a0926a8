"""The process-of-its-own side of an upload: parse the saved file, or fit the catalog with its
rows, and send back the result or one line saying why not.

Run as `python -m api.http.isolated` by `api.http.uploads`, once per step: it reads a pickled
(function, arguments) on stdin and writes the pickled result on stdout. It imports no more than
the step needs (a parse: the importers; a fit: the advisor), never the server.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from traceback import format_exc
from typing import TYPE_CHECKING, Any

from advisor.errors import AdvisorError, ImportRejectedError, MissingFieldError
from catalog.importers.common import ImportOptions
from catalog.records import Batch

if TYPE_CHECKING:
    from api.settings import Settings

Parser = Callable[[Path, ImportOptions], Batch]
NAME_CHARS = 100
DEFAULT_NAME = "upload.json"


def upload_name(filename: str | None) -> str:
    """The client's file name made safe as one path component: letters, digits and `._-`, no
    leading dot, at most 100 characters (the suffix, which picks JSON or YAML, is kept)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename or "").name).lstrip(".")
    if len(name) > NAME_CHARS:
        suffix = Path(name).suffix[:10]
        name = name[: NAME_CHARS - len(suffix)] + suffix
    return name or DEFAULT_NAME


@dataclass(frozen=True)
class Parsed:
    """What the worker process sends back: a batch, or the refusal's parts."""

    batch: Batch | None = None
    problem: str | None = None
    missing_field: str | None = None
    missing_option: str | None = None
    unexpected: str | None = None  # the traceback of an error no importer should raise


def _cap_memory(extra_bytes: int) -> None:
    """Limit this process's address space to what it uses now plus `extra_bytes` (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        limit = pages * resource.getpagesize() + extra_bytes
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY or soft > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def parse_isolated(parse: Parser, path: Path, options: ImportOptions, memory_bytes: int) -> Parsed:
    """Runs in the worker process: the upload, saved as `path` (its safe name in a private
    folder), parsed. Errors come back as text with the folder left out, so no server path
    reaches a client."""
    _cap_memory(memory_bytes)
    name, folder = path.name, str(path.parent)

    def scrub(text: str) -> str:
        return text.replace(str(path), name).replace(folder, "")

    try:
        return Parsed(batch=parse(path, options))
    except MissingFieldError as exc:
        return Parsed(missing_field=exc.field, missing_option=exc.option)
    except ImportRejectedError as exc:
        return Parsed(problem=scrub(exc.problem))
    except AdvisorError as exc:
        return Parsed(problem=scrub(str(exc)))
    except MemoryError:
        return Parsed(problem=f"parsing it needs more than {memory_bytes >> 20} MiB of memory")
    except RecursionError:
        return Parsed(problem="nested too deeply to be read")
    except Exception as exc:
        first = scrub(str(exc)).splitlines()[0] if str(exc) else ""
        return Parsed(
            problem=f"cannot be read ({type(exc).__name__}{': ' + first if first else ''})",
            unexpected=scrub(format_exc()),
        )


def fit_isolated(settings: Settings, rows: dict[str, Any]) -> tuple[str, str] | None:
    """Fit the catalog's rows (with the upload's, not yet committed) as every server process
    will load them (the fit is cached on disk by content); None, or why it cannot be fitted and
    the traceback."""
    from advisor.data import Snapshot
    from api.runtime import fitted_advisor

    try:
        fitted_advisor(settings, Snapshot.from_rows(rows))
    except Exception as exc:
        text = str(exc).strip()
        first = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
        return first, format_exc()
    return None


def main() -> None:
    """(function, arguments) on stdin, the function's result on stdout."""
    with contextlib.suppress(OSError):
        os.nice(10)  # this work yields the CPU to the server it runs for
    function, arguments = pickle.load(sys.stdin.buffer)
    result = function(*arguments)
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    # Through the module's own name, so that results pickle as api.http.isolated.*.
    from api.http import isolated

    isolated.main()
