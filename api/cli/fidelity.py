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
)


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
        fitted, naive = document[key], document["baseline"].get(key, {})
        rows.append(
            [
                key,
                fitted["median_ape_pct"],
                fitted["p90_ape_pct"],
                naive.get("median_ape_pct"),
                naive.get("p90_ape_pct"),
                targets.get(key),
                fitted["n"],
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
