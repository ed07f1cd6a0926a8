"""The worker-process side of an upload: parse it in a private folder, send back the batch or
one line saying why not.

Run as `python -m api.http.parsing` by `api.http.uploads`, one process per upload: it reads the
pickled request on stdin and writes the pickled `Parsed` on stdout. It imports no more than the
importers need (no fit, no server), so it starts quickly and small.
"""

from __future__ import annotations

import contextlib
import pickle
import re
import resource
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from traceback import format_exc

from advisor.errors import AdvisorError, ImportRejectedError, MissingFieldError
from catalog.importers.common import ImportOptions
from catalog.records import Batch

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


def parse_isolated(
    parse: Parser, name: str, content: bytes, options: ImportOptions, memory_bytes: int
) -> Parsed:
    """Runs in the worker process: the upload under its own name in a private folder, parsed.

    Errors come back as text with the folder left out, so no server path reaches a client."""
    _cap_memory(memory_bytes)
    with tempfile.TemporaryDirectory(prefix="advisor-upload-") as folder:
        path = Path(folder) / name

        def scrub(text: str) -> str:
            return text.replace(str(path), name).replace(folder, "")

        try:
            path.write_bytes(content)
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


def main() -> None:
    """(parser, name, content, options, memory_bytes) on stdin, `Parsed` on stdout."""
    parse, name, content, options, memory_bytes = pickle.load(sys.stdin.buffer)
    parsed = parse_isolated(parse, name, content, options, memory_bytes)
    sys.stdout.buffer.write(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    # Through the module's own name, so that `Parsed` pickles as api.http.parsing.Parsed.
    from api.http import parsing

    parsing.main()
