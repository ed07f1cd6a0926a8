"""Accuracy recovery versus BF16 per (model, format) for a suite or a task, with an 80% interval.

Suites: `leaderboard_v1` and `leaderboard_v2` (their averages), `real_world` (the mean recovery
of Arena-Hard, HumanEval and HumanEval+), any other suite the catalog holds (`openllm_v1`,
`coding`, the suite an lm-eval import was given: its printed average, else the mean of its
tasks' recoveries), or any task name (`mmlu`, `arena_hard`, `gsm8k_cot`, ...). Intervals come
from the data: the spread of per-task recoveries for a suite average, the standard error or the
95% interval of a task.

A model's own rows are found by its id, its Hugging Face id, or, for a model given as a path,
the catalog model added from that folder (`advisor catalog add-model`): an lm-eval import for it
takes over at the next answer, labelled measured. A model without rows of its own is estimated
from its family (advisor/families.py: the model_type its class names; Llama-3.1, Llama-3.3,
Nemotron-70B and DeepSeek-R1-Distill-Llama are all `llama`), labelled extrapolated:

- **A family scored on that suite in that format**: the nearest measured sizes of the family,
  interpolated in log size between two, else the nearest. The catalog's own models are used
  first; the cards' published models outside it when they are all the family has.
- **A family never scored there**: a prior, whose basis starts `prior:` and names its evidence.
  - Centre: the families scored on the suite in that format under one protocol (the study's, P1,
    where it scores the suite, else the one that scores it in most families), each taken at the
    model's size as above, averaged.
  - 80% interval: centre +- 1.2816 sqrt(se_c^2 + tau^2); se_c is the centre's own standard error
    and tau the between-family standard deviation of recovery in that format. tau is pooled over
    every (protocol, suite) in which two or more families are scored, from each family's mean
    suite recovery against the mean of the families there, so recoveries measured under
    different protocols are never compared with each other. A format with no such pair takes
    tau pooled over every format (the basis says so).
  The evidence is the study's Llama-3.1 rows and the cards' rows (Llama-3.3, Nemotron, Llama-4,
  Granite, Gemma, DeepSeek-R1-Distill, each with its protocol) plus any import; all of it is
  computed at fit time.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import PurePath
from typing import NamedTuple

from pydantic import Field

from advisor.data import AccuracyCell
from advisor.errors import InvalidInputError, UnknownNameError
from advisor.families import class_family, named_size_b, published_family
from advisor.hardware import ModelSpec
from advisor.vocabulary import Format, Frozen, Label

Z80 = 1.2816  # two-sided 80% normal quantile
REAL_WORLD = "real_world"
REAL_WORLD_TASKS = ("arena_hard", "humaneval", "humaneval_plus")
HUMANEVAL_PROBLEMS = 164
# The study's tables are preferred where a cell is printed twice.
SOURCE_PREFERENCE = ("study:table2", "study:table3", "study:table7")
STUDY_PROTOCOL = "P1"

Entry = tuple[float, float, str]  # recovery %, its standard error in points, source
Known = list[tuple[float, Entry, str]]  # (size in billions, entry, model) of one family


class Recovery(Frozen):
    suite: str = Field(description="suite or task the recovery is for")
    recovery_pct: float = Field(description="score as % of the BF16 score")
    recovery_pct_lo: float = Field(description="80% interval, low")
    recovery_pct_hi: float = Field(description="80% interval, high")
    label: Label = Field(description="measured, interpolated (between sizes) or extrapolated")
    basis: str = Field(description="which models and sources the figure comes from")


class Member(NamedTuple):
    """A model with accuracy rows, as the family estimates see it."""

    family: str
    size_b: float | None
    in_catalog: bool


class Spread(NamedTuple):
    """The between-family standard deviation of recovery, and what it was measured over."""

    tau_pct: float
    families: tuple[str, ...]
    protocols: tuple[str, ...]
    groups: int
    pooled: bool


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


def _recoveries(
    cells: Sequence[AccuracyCell],
) -> tuple[dict[tuple[str, Format, str], Entry], set[str]]:
    """(model, format, suite or task) -> entry, and which of the keys are suites."""
    best: dict[tuple[str, Format, str, str], AccuracyCell] = {}

    def preference(cell: AccuracyCell) -> tuple[bool, int]:
        uncertain = cell.stderr is None and cell.ci95_low_delta is None
        return uncertain, _rank(cell.source)

    for cell in sorted(cells, key=preference):
        if cell.recovery_pct is None or cell.suite == "academic":
            continue
        best.setdefault((cell.model, cell.format, cell.suite, cell.task), cell)
    table: dict[tuple[str, Format, str], Entry] = {}
    by_suite: dict[tuple[str, Format, str], list[AccuracyCell]] = defaultdict(list)
    averages: dict[tuple[str, Format, str], AccuracyCell] = {}
    for (model, fmt, suite, task), cell in best.items():
        if task == "average":
            averages[(model, fmt, suite)] = cell
        else:
            # A task printed under two suites (the study's real_world, a card's coding) keeps
            # the preferred cell: `best` is in preference order.
            table.setdefault(
                (model, fmt, task), (cell.recovery_pct or 0.0, _task_se(cell), cell.source)
            )
            by_suite[(model, fmt, suite)].append(cell)
    suites = set()
    for key in sorted({*by_suite, *averages}):
        if key[2] == REAL_WORLD:
            continue  # the mean of its three tasks, below
        tasks = [t.recovery_pct or 0.0 for t in by_suite.get(key, [])]
        spread = statistics.stdev(tasks) if len(tasks) > 1 else 1.0
        average = averages.get(key)
        if average is not None:
            se = spread / math.sqrt(len(tasks)) if tasks else _task_se(average)
            entry = (average.recovery_pct or 0.0, se, average.source)
        else:
            sources = sorted({t.source for t in by_suite[key]})
            se = spread / math.sqrt(len(tasks)) if len(tasks) > 1 else _task_se(by_suite[key][0])
            entry = (statistics.fmean(tasks), se, " + ".join(sources))
        table.setdefault(key, entry)
        suites.add(key[2])
    for model, fmt in sorted({(m, f) for (m, f, _) in table}):
        parts = [table[(model, fmt, t)] for t in REAL_WORLD_TASKS if (model, fmt, t) in table]
        if len(parts) == len(REAL_WORLD_TASKS):
            mean = statistics.fmean(p[0] for p in parts)
            se = math.sqrt(sum(p[1] ** 2 for p in parts)) / len(parts)
            sources = sorted({p[2] for p in parts})
            table[(model, fmt, REAL_WORLD)] = (mean, se, " + ".join(sources))
            suites.add(REAL_WORLD)
    return table, suites


def _at_size(known: Known, size: float) -> tuple[float, float, str]:
    """(value, standard error, basis) at `size` from one family's measured sizes."""
    known = sorted(known)
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
        return value, spread, f"between {lo[2]} and {hi[2]}"
    nearest = below[-1] if below else above[0]
    spread = 2 * nearest[1][1] + statistics.pstdev([k[1][0] for k in known])
    return nearest[1][0], spread, f"nearest measured size: {nearest[2]}"


def _protocol_name(protocol: str | None) -> str:
    return protocol or "unstated protocol"


def _between_families(
    by_protocol: dict[str | None, tuple[dict[tuple[str, Format, str], Entry], set[str]]],
    members: dict[str, Member],
) -> dict[Format | None, Spread]:
    """tau per format (and, under None, pooled over formats): each (protocol, suite) with two or
    more families scored adds each family's mean recovery's squared deviation from their mean."""
    squares: dict[Format | None, float] = defaultdict(float)
    dof: dict[Format | None, int] = defaultdict(int)
    families: dict[Format | None, set[str]] = defaultdict(set)
    protocols: dict[Format | None, set[str]] = defaultdict(set)
    groups: dict[Format | None, int] = defaultdict(int)
    for protocol, (table, suites) in by_protocol.items():
        grouped: dict[tuple[Format, str], dict[str, list[float]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for (model, fmt, key), (value, _, _) in table.items():
            if key in suites and fmt is not Format.BF16 and model in members:
                grouped[(fmt, key)][members[model].family].append(value)
        for (fmt, _), by_family in grouped.items():
            if len(by_family) < 2:
                continue
            means = [statistics.fmean(values) for values in by_family.values()]
            centre = statistics.fmean(means)
            for bucket in (fmt, None):
                squares[bucket] += sum((m - centre) ** 2 for m in means)
                dof[bucket] += len(means) - 1
                families[bucket] |= set(by_family)
                protocols[bucket].add(_protocol_name(protocol))
                groups[bucket] += 1
    return {
        bucket: Spread(
            tau_pct=math.sqrt(squares[bucket] / dof[bucket]),
            families=tuple(sorted(families[bucket])),
            protocols=tuple(sorted(protocols[bucket])),
            groups=groups[bucket],
            pooled=bucket is None,
        )
        for bucket in dof
    }


class AccuracyModel:
    """Recovery per (model, format, suite), fitted from the catalog's accuracy rows."""

    def fit(self, cells: list[AccuracyCell], models: Sequence[ModelSpec] = ()) -> AccuracyModel:
        """`models` are the catalog's: their classes and sizes place their rows in families."""
        self.table_, _ = _recoveries(cells)
        self.suites_ = sorted({s for (_, _, s) in self.table_})
        protocols = sorted({c.protocol for c in cells}, key=lambda p: (p is None, p or ""))
        self.by_protocol_ = {
            p: _recoveries([c for c in cells if c.protocol == p]) for p in protocols
        }
        self.catalog_ = {m.model: m for m in models}
        self.members_: dict[str, Member] = {
            m.model: Member(class_family(m.arch.architecture), m.arch.params_b, True)
            for m in models
        }
        for model in sorted({c.model for c in cells} - set(self.members_)):
            family = published_family(model)
            if family is not None:
                self.members_[model] = Member(family, named_size_b(model), False)
        self.ids_ = {m.lower(): m for (m, _, _) in self.table_}
        self.ids_ |= {m.hf_id.lower(): m.model for m in models if m.hf_id}
        self.spread_ = _between_families(self.by_protocol_, self.members_)
        return self

    def suites(self) -> list[str]:
        return self.suites_

    def predict(self, model: ModelSpec, fmt: Format, suite: str) -> Recovery:
        """Recovery for `model` in `fmt` on `suite`: its own rows, else its family's nearest
        measured sizes, else the prior of the module docstring."""
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
        for name in self._own_names(model):
            own = self.table_.get((name, fmt, suite))
            if own is not None:
                value, se, source = own
                return _recovery(suite, value, se, Label.MEASURED, source)
        family = class_family(model.arch.architecture)
        known = self._family(self.table_, family, fmt, suite)
        if known:
            value, spread, basis = _at_size(known, model.arch.params_b)
            return _recovery(suite, value, spread, Label.EXTRAPOLATED, basis)
        return self._prior(model, family, fmt, suite)

    def _own_names(self, model: ModelSpec) -> list[str]:
        """The ids `model`'s own rows may be under: its id, the catalog or published model of
        its Hugging Face id, and the catalog model added from its folder (same class and size)."""
        names = [model.model]
        if model.hf_id and model.hf_id.lower() in self.ids_:
            names.append(self.ids_[model.hf_id.lower()])
        if model.local_path:
            folder = self.catalog_.get(PurePath(model.local_path).name.lower())
            if (
                folder is not None
                and folder.arch.architecture == model.arch.architecture
                and math.isclose(folder.arch.params_b, model.arch.params_b, rel_tol=1e-3)
            ):
                names.append(folder.model)
        return names

    def _family(
        self, table: dict[tuple[str, Format, str], Entry], family: str, fmt: Format, suite: str
    ) -> Known:
        """The family's sized models with rows for (fmt, suite) in `table`: the catalog's, else
        the published ones."""
        found = [
            (self.members_[m], entry, m)
            for (m, f, s), entry in table.items()
            if f is fmt and s == suite and m in self.members_
        ]
        found = [
            (member, entry, m)
            for member, entry, m in found
            if member.family == family and member.size_b is not None
        ]
        chosen = [k for k in found if k[0].in_catalog] or found
        return [(member.size_b or 0.0, entry, m) for member, entry, m in chosen]

    def _prior(self, model: ModelSpec, family: str, fmt: Format, suite: str) -> Recovery:
        scored: dict[str | None, set[str]] = {}
        for protocol, (table, _) in self.by_protocol_.items():
            families = {
                member.family
                for (m, f, s) in table
                if f is fmt
                and s == suite
                and (member := self.members_.get(m)) is not None
                and member.size_b is not None
            }
            if families:
                scored[protocol] = families
        if not scored:
            formats = sorted({f.value for (_, f, s) in self.table_ if s == suite})
            raise InvalidInputError(
                f"no {fmt.value} accuracy data on {suite!r} for any model; formats with data on "
                f"it: {', '.join(formats)}"
            )
        # The study's protocol defines the advisor's suites; else the one most families share.
        protocol = (
            STUDY_PROTOCOL
            if STUDY_PROTOCOL in scored
            else max(scored, key=lambda p: len(scored[p]))
        )
        table = self.by_protocol_[protocol][0]
        parts = {
            f: _at_size(self._family(table, f, fmt, suite), model.arch.params_b)
            for f in sorted(scored[protocol])
        }
        centre = statistics.fmean(p[0] for p in parts.values())
        centre_se = math.sqrt(sum(p[1] ** 2 for p in parts.values())) / len(parts)
        spread = self.spread_.get(fmt) or self.spread_.get(None)
        if spread is not None:
            tau = spread.tau_pct
            what = "recovery pooled over formats" if spread.pooled else f"{fmt.value} recovery"
            widened = (
                f"the between-family spread of {what}, {tau:.2f} points over "
                f"{len(spread.families)} families ({', '.join(spread.families)}; "
                f"{spread.groups} suite{'s' if spread.groups > 1 else ''} under "
                f"{', '.join(spread.protocols)})"
            )
        else:
            tau = statistics.pstdev(p[0] for p in parts.values())
            widened = "the spread between the centre's families (no two families share a suite)"
        centres = "; ".join(f"{f} {basis}" for f, (_, _, basis) in parts.items())
        basis = (
            f"prior: no {fmt.value} accuracy data on {suite} for family {family}; centre: "
            f"{centres} ({_protocol_name(protocol)}); interval widened by {widened}"
        )
        se = math.sqrt(centre_se**2 + tau**2)
        return _recovery(suite, centre, se, Label.EXTRAPOLATED, basis)


def _recovery(suite: str, value: float, se: float, label: Label, basis: str) -> Recovery:
    return Recovery(
        suite=suite,
        recovery_pct=value,
        recovery_pct_lo=value - Z80 * se,
        recovery_pct_hi=value + Z80 * se,
        label=label,
        basis=basis,
    )
