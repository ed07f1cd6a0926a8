"""What every command shares: the consoles, the catalog flag, opening the catalog, and the one
mapping of the domain's errors to a red line and exit status 1."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from advisor.errors import AdvisorError, MissingFieldError, UnknownNameError
from api.settings import Settings
from catalog.build import open_catalog
from catalog.db import Connection

# Wide tables stay readable when piped to a file or a pager (rich assumes 80 columns there);
# a width the user sets in COLUMNS wins (rich reads it when given no width).
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)
err = Console(stderr=True)

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}


# The flag that supplies each import option the domain's errors name.
IMPORT_FLAGS = {"model": "--model", "format": "--format", "gpu": "--gpu", "gpu_count": "--gpus"}


def message_of(exc: AdvisorError) -> str:
    """The domain's message, with the hint only the command line can give."""
    if isinstance(exc, UnknownNameError) and exc.kind == "model" and not exc.hint:
        return f"{exc}. Or give a path to a config.json"
    if isinstance(exc, MissingFieldError):
        return f"{exc}; pass {IMPORT_FLAGS.get(exc.option, '--' + exc.option)}"
    return str(exc)


def fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(1)


class AdvisorGroup(click.Group):
    """Maps the domain's errors to one red line and exit status 1, once for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AdvisorError as exc:
            fail(message_of(exc))


catalog_option = click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Catalog file (default: $ADVISOR_CATALOG, else the user cache folder).",
)


def settings_from(catalog_path: Path | None) -> Settings:
    return Settings(catalog=catalog_path) if catalog_path else Settings()


@contextmanager
def opened(ctx: click.Context, *, read_only: bool) -> Iterator[Connection]:
    """The catalog of the command's settings, built on first use, closed afterwards."""
    settings: Settings = ctx.obj
    con = open_catalog(settings.catalog_path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()
