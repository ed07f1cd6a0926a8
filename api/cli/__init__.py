"""The command line: `advisor` (catalog, advice, service, profiler) and `advise`.

A thin shell: each command parses flags, builds Settings, calls catalog/advisor/profiler
functions and renders; the domain's errors become one red line and exit status 1.
"""

from __future__ import annotations

from pathlib import Path

import click

from advisor import __version__
from api.cli.advice import advise, predict_cmd
from api.cli.catalog import catalog_group
from api.cli.fidelity import fidelity_cmd
from api.cli.profile import profile_group
from api.cli.serve import serve
from api.cli.shell import CONTEXT_SETTINGS, AdvisorGroup, catalog_option, message_of, settings_from

__all__ = ["advise", "advise_main", "cli", "main", "message_of"]


@click.group(cls=AdvisorGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="advisor")
@catalog_option
@click.pass_context
def cli(ctx: click.Context, catalog_path: Path | None) -> None:
    """Deployment advisor for quantized LLMs."""
    ctx.obj = settings_from(catalog_path)


for command in (catalog_group, predict_cmd, fidelity_cmd, advise, serve, profile_group):
    cli.add_command(command)


def main() -> None:
    cli()


def advise_main() -> None:
    advise()
