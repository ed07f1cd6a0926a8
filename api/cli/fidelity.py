"""`advisor fidelity`: the held-out error of the performance models, as a table or JSON."""

from __future__ import annotations

import click

from api.cli.shell import out
from api.render import print_json, print_table
from api.runtime import load_snapshot

FIDELITY_KEYS = (
    "sync_short_use_case_out",
    "sync_long_use_case_out",
    "sync_config_out",
    "sync_model_out",
    "sync_gpu_out",
    "sync_engine_out",
    "sync_engine_out_reverse",
    "sync_calibrated",
    "async_use_case_out",
    "async_model_out",
    "async_unconstrained.use_case_out",
    "async_unconstrained.model_out",
    "load_curve.ttft_p99",
    "load_curve.itl_p99",
)


def _at(document: dict[str, object], key: str) -> dict[str, object]:
    """A figure by its dotted key ("async_unconstrained.model_out"); {} where absent."""
    found: object = document
    for part in key.split("."):
        found = found.get(part, {}) if isinstance(found, dict) else {}
    return found if isinstance(found, dict) else {}


@click.command("fidelity")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_context
def fidelity_cmd(ctx: click.Context, as_json: bool) -> None:
    """Held-out error of the performance models next to a naive roofline, and how often the
    predicted best format per (model, GPU, use case) is the measured best."""
    from advisor.fidelity import fidelity  # fits many models: scikit-learn loads only here

    document = fidelity(load_snapshot(ctx.obj))
    if as_json:
        print_json(document)
        return
    rows = []
    targets = document["targets"]
    for key in FIDELITY_KEYS:
        fitted, naive = _at(document, key), _at(document["baseline"], key)
        rows.append(
            [
                key,
                fitted.get("median_ape_pct"),
                fitted.get("p90_ape_pct"),
                naive.get("median_ape_pct"),
                naive.get("p90_ape_pct"),
                targets.get(key),
                fitted.get("n", 0),
            ]
        )
    rows.append(
        [
            "decision_agreement_pct",
            document["decision_agreement_pct"],
            None,
            document["baseline"]["decision_agreement_pct"],
            None,
            targets.get("decision_agreement_pct"),
            sum(total for _, total in document["decision_groups"].values()),
        ]
    )
    print_table(
        out,
        [
            "held-out",
            "median APE %",
            "p90 APE %",
            "roofline median %",
            "roofline p90 %",
            "target",
            "n",
        ],
        rows,
        "Fidelity (grouped cross-validation)",
    )
    for note in document["notes"].values():
        out.print(f"[dim]{note}[/]", highlight=False)
