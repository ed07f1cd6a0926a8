"""Accuracy recovery versus BF16 per (model, format) for a suite or a task, with an 80% interval.

Suites: `leaderboard_v1` and `leaderboard_v2` (their averages), `real_world` (the mean recovery
of Arena-Hard, HumanEval and HumanEval+), or any task name (`mmlu`, `arena_hard`, `gsm8k_cot`,
...). Intervals come from the data: the spread of per-task recoveries for a suite average, the
standard error or the 95% interval of a task, and the spread between neighbouring model sizes
for a model without accuracy data, which is then labelled extrapolated.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from pydantic import Field

from advisor.data import AccuracyCell
from advisor.errors import UnknownNameError
from advisor.hardware import ModelSpec
from advisor.vocabulary import Format, Frozen, Label

Z80 = 1.2816  # two-sided 80% normal quantile
SUITE_AVERAGES = ("leaderboard_v1", "leaderboard_v2")
REAL_WORLD_TASKS = ("arena_hard", "humaneval", "humaneval_plus")
HUMANEVAL_PROBLEMS = 164
# The study's tables are preferred where a cell is printed twice.
SOURCE_PREFERENCE = ("study:table2", "study:table3", "study:table7")


class Recovery(Frozen):
    suite: str = Field(description="suite or task the recovery is for")
    recovery_pct: float = Field(description="score as % of the BF16 score")
    recovery_pct_lo: float = Field(description="80% interval, low")
    recovery_pct_hi: float = Field(description="80% interval, high")
    label: Label = Field(description="measured, interpolated (between sizes) or extrapolated")
    basis: str = Field(description="which models and sources the figure comes from")


def _rank(source: str) -> int:
    return (
        SOURCE_PREFERENCE.index(source) if source in SOURCE_PREFERENCE else len(SOURCE_PREFERENCE)
    )


def _task_se(cell: AccuracyCell) -> float:
    """Standard error of one task's recovery, in percentage points."""
    if cell.baseline_score in (None, 0) or cell.recovery_pct is None:
        return 1.0
    if cell.stderr is not None:
        score_se = cell.stderr
    elif cell.ci95_low_delta is not None and cell.ci95_high_delta is not None:
        score_se = (cell.ci95_high_delta - cell.ci95_low_delta) / 2 / 1.96
    elif cell.task.startswith("humaneval"):
        p = min(max(cell.score / 100, 0.01), 0.99)
        score_se = 100 * math.sqrt(p * (1 - p) / HUMANEVAL_PROBLEMS)
    else:
        return 0.5  # a printed score with no uncertainty: its rounding and little more
    # The quantized and BF16 scores are independent runs; both carry the error.
    return 100 * math.sqrt(2) * score_se / cell.baseline_score


class AccuracyModel:
    """Recovery per (model, format, suite), fitted from the catalog's accuracy rows."""

    def fit(self, cells: list[AccuracyCell]) -> AccuracyModel:
        best: dict[tuple[str, Format, str, str], AccuracyCell] = {}

        def preference(cell: AccuracyCell) -> tuple[bool, int]:
            uncertain = cell.stderr is None and cell.ci95_low_delta is None
            return uncertain, _rank(cell.source)

        for cell in sorted(cells, key=preference):
            if cell.recovery_pct is None or cell.suite == "academic":
                continue
            best.setdefault((cell.model, cell.format, cell.suite, cell.task), cell)
        table: dict[tuple[str, Format, str], tuple[float, float, str]] = {}
        by_suite: dict[tuple[str, Format, str], list[AccuracyCell]] = defaultdict(list)
        for (model, fmt, suite, task), cell in best.items():
            if task != "average":
                table[(model, fmt, task)] = (cell.recovery_pct or 0.0, _task_se(cell), cell.source)
                by_suite[(model, fmt, suite)].append(cell)
        for (model, fmt, suite), tasks in by_suite.items():
            if suite in SUITE_AVERAGES and (model, fmt, suite, "average") in best:
                average = best[(model, fmt, suite, "average")]
                spread = (
                    statistics.stdev([t.recovery_pct or 0.0 for t in tasks])
                    if len(tasks) > 1
                    else 1.0
                )
                table[(model, fmt, suite)] = (
                    average.recovery_pct or 0.0,
                    spread / math.sqrt(len(tasks)),
                    average.source,
                )
        for model, fmt in {(m, f) for (m, f, _) in table}:
            parts = [table[(model, fmt, t)] for t in REAL_WORLD_TASKS if (model, fmt, t) in table]
            if len(parts) == len(REAL_WORLD_TASKS):
                mean = statistics.fmean(p[0] for p in parts)
                se = math.sqrt(sum(p[1] ** 2 for p in parts)) / len(parts)
                sources = sorted({p[2] for p in parts})
                table[(model, fmt, "real_world")] = (mean, se, " + ".join(sources))
        self.table_ = table
        self.suites_ = sorted({s for (_, _, s) in table})
        return self

    def suites(self) -> list[str]:
        return self.suites_

    def predict(
        self,
        model: ModelSpec,
        fmt: Format,
        suite: str,
        params_by_model: dict[str, tuple[str, float]],
    ) -> Recovery:
        """Recovery for `model` in `fmt` on `suite`. `params_by_model` maps each catalog model to
        its (architecture class, size in billions): a model without data of its own is
        estimated from the nearest measured sizes of the same class (the same family)."""
        if suite not in self.suites_:
            raise UnknownNameError("accuracy suite or task", suite, self.suites_)
        fmt = Format(fmt)
        if fmt is Format.BF16:
            return Recovery(
                suite=suite,
                recovery_pct=100.0,
                recovery_pct_lo=100.0,
                recovery_pct_hi=100.0,
                label=Label.MEASURED,
                basis="the baseline",
            )
        own = self.table_.get((model.model, fmt, suite))
        if own is not None:
            value, se, source = own
            return Recovery(
                suite=suite,
                recovery_pct=value,
                recovery_pct_lo=value - Z80 * se,
                recovery_pct_hi=value + Z80 * se,
                label=Label.MEASURED,
                basis=source,
            )
        return self._from_neighbours(model, fmt, suite, params_by_model)

    def _from_neighbours(
        self,
        model: ModelSpec,
        fmt: Format,
        suite: str,
        params_by_model: dict[str, tuple[str, float]],
    ) -> Recovery:
        known = [
            (params_by_model[m][1], self.table_[(m, f, s)], m)
            for (m, f, s) in self.table_
            if f is fmt
            and s == suite
            and m in params_by_model
            and params_by_model[m][0] == model.arch.architecture
        ]
        if not known:
            known = [
                (params_by_model[m][1], self.table_[(m, f, s)], m)
                for (m, f, s) in self.table_
                if f is fmt and s == suite and m in params_by_model
            ]
        if not known:
            raise UnknownNameError(f"accuracy data for {fmt.value} on", suite, self.suites_)
        size = model.arch.params_b
        known.sort()
        below = [k for k in known if k[0] <= size]
        above = [k for k in known if k[0] >= size]
        if below and above:
            lo, hi = below[-1], above[0]
            if hi[0] == lo[0]:
                weight = 0.0
            else:
                weight = (math.log(size) - math.log(lo[0])) / (math.log(hi[0]) - math.log(lo[0]))
            value = lo[1][0] + weight * (hi[1][0] - lo[1][0])
            spread = abs(hi[1][0] - lo[1][0]) / 2 + max(lo[1][1], hi[1][1])
            basis = f"between {lo[2]} and {hi[2]}"
        else:
            nearest = below[-1] if below else above[0]
            value = nearest[1][0]
            spread = 2 * nearest[1][1] + statistics.pstdev([k[1][0] for k in known])
            basis = f"nearest measured size: {nearest[2]}"
        return Recovery(
            suite=suite,
            recovery_pct=value,
            recovery_pct_lo=value - Z80 * spread,
            recovery_pct_hi=value + Z80 * spread,
            label=Label.EXTRAPOLATED,
            basis=basis,
        )
