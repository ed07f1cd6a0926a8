"""Physical consistency of synchronous measurements: cells whose generation stopped early.

One request at a time, latency is TTFT plus one decode step per output token, so at a given
configuration it grows about linearly with the output length; the model cards show it wherever
outputs ran their full length (a 1,024-token answer takes 7.8 to 8.2 times a 128-token one). A
cell well below what the configuration's shorter-output cells imply did not produce its nominal
tokens: it is flagged with the numbers, and never fitted on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

from pydantic import Field

from advisor.vocabulary import Frozen
from catalog.records import Batch, DecodeFlag, RunRecord

# Below this share of the expected latency a cell is `truncated` (it cannot be noise: the cards'
# full-length cells never fall below 0.9 of it); between that and SUSPECT_SHARE it is `suspect`.
TRUNCATED_SHARE = 0.5
SUSPECT_SHARE = 0.8
SEVERITY: dict[str | None, int] = {None: 0, "suspect": 1, "truncated": 2}


class Measured(Frozen):
    """One synchronous end-to-end latency of a configuration (model, format, GPU, count, engine)."""

    configuration: tuple[Hashable, ...] = Field(description="what ran; cells compared within it")
    prefill_tokens: int = Field(gt=0, description="prompt tokens")
    decode_tokens: int = Field(gt=0, description="nominal output tokens")
    latency_s: float = Field(gt=0, description="measured end-to-end latency")


class Verdict(Frozen):
    """Why one cell is not fitted on."""

    flag: DecodeFlag = Field(description="truncated (far short) or suspect (well short)")
    reason: str = Field(description="the rule and its numbers, for data/README.md and the views")
    expected_s: float = Field(gt=0, description="latency the shorter-output cells imply")
    share: float = Field(gt=0, description="measured / expected")


def _tokens(values: Sequence[int]) -> str:
    """`128-token`, `128- and 256-token`."""
    distinct = sorted(set(values))
    head = ", ".join(f"{v}-" for v in distinct[:-1])
    return (f"{head} and " if head else "") + f"{distinct[-1]}-token"


def check(cells: Sequence[Measured]) -> dict[int, Verdict]:
    """Verdicts for the cells (by index) that fall short of their configuration's linear trend.

    Every shape is checked against the same configuration's cells with fewer output tokens that
    passed: the expectation is the output length times their smallest per-token latency. Shorter
    cells carry their TTFT too; the smallest per-token figure is the one least inflated by its
    prompt, so the expectation errs low and a flag is never the prompt's doing. Cells with the
    shortest output of their configuration have nothing to be compared with and pass.
    """
    by_config: dict[tuple[Hashable, ...], list[int]] = defaultdict(list)
    for index, cell in enumerate(cells):
        by_config[cell.configuration].append(index)
    verdicts: dict[int, Verdict] = {}
    for indices in by_config.values():
        passed: list[int] = []
        for index in sorted(indices, key=lambda i: cells[i].decode_tokens):
            cell = cells[index]
            shorter = [i for i in passed if cells[i].decode_tokens < cell.decode_tokens]
            verdict = _verdict(cell, [cells[i] for i in shorter]) if shorter else None
            if verdict is None:
                passed.append(index)
            else:
                verdicts[index] = verdict
    return verdicts


def _verdict(cell: Measured, shorter: Sequence[Measured]) -> Verdict | None:
    per_token_s = min(c.latency_s / c.decode_tokens for c in shorter)
    expected = cell.decode_tokens * per_token_s
    share = cell.latency_s / expected
    if share >= SUSPECT_SHARE:
        return None
    flag: DecodeFlag = "truncated" if share < TRUNCATED_SHARE else "suspect"
    bound = "half" if flag == "truncated" else f"{SUSPECT_SHARE:.0%} of"
    reason = (
        f"{flag}: {cell.latency_s:.1f} s for {cell.decode_tokens} tokens is below {bound} the "
        f"{expected:.1f} s that this configuration's "
        f"{_tokens([c.decode_tokens for c in shorter])} cells imply "
        f"({1000 * per_token_s:.1f} ms a token; measured {share:.0%} of it)"
    )
    return Verdict(flag=flag, reason=reason, expected_s=expected, share=share)


def _configuration(run: RunRecord) -> tuple[Hashable, ...]:
    return (run.model, run.format.value, run.gpu, run.gpu_count, run.engine, run.engine_version)


def checked(batch: Batch) -> Batch:
    """The batch with its synchronous cells through `check`, configuration by configuration.

    A flag already on a cell (the study's weight-streaming rule, with its reason) stays unless
    this check finds the cell at least as far short; then the flag and reason are this check's.
    """
    located = [
        (
            r,
            i,
            Measured(
                configuration=_configuration(run),
                prefill_tokens=row.prefill_tokens,
                decode_tokens=row.decode_tokens,
                latency_s=row.latency_s,
            ),
        )
        for r, run in enumerate(batch.runs)
        for i, row in enumerate(run.sync)
        if row.latency_s is not None
    ]
    verdicts = check([m for _, _, m in located])
    found = {(r, i): verdicts[n] for n, (r, i, _) in enumerate(located) if n in verdicts}
    runs = []
    for r, run in enumerate(batch.runs):
        rows = []
        for i, row in enumerate(run.sync):
            verdict = found.get((r, i))
            if verdict is not None and SEVERITY[verdict.flag] >= SEVERITY[row.decode_flag]:
                row = row.model_copy(
                    update={"decode_flag": verdict.flag, "decode_reason": verdict.reason}
                )
            rows.append(row)
        runs.append(run.model_copy(update={"sync": rows}))
    return batch.model_copy(update={"runs": runs})
