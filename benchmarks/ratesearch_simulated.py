"""The guided rate search against the exhaustive one over the test suite's grid of simulated
servers (tests/profiler/test_ratesearch.py): prints run counts and errors, asserts nothing.

    python benchmarks/ratesearch_simulated.py
"""

from __future__ import annotations

import itertools
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.profiler.test_ratesearch import (
    CAPACITIES,
    POSITIONS,
    SYNC_SHARES,
    WIDTHS,
    guided,
    prior_around,
    search,
    system,
)


def main() -> None:
    runs: dict[str, list[int]] = defaultdict(list)
    by_width: dict[float, list[int]] = defaultdict(list)
    errors = []
    for capacity, width, position, share in itertools.product(
        CAPACITIES, WIDTHS, POSITIONS, SYNC_SHARES
    ):
        best, reasons = guided(
            system(capacity), prior_around(capacity, width, position), capacity * share
        )
        exhaustive, count = search(system(capacity), capacity * share)
        runs["guided"].append(len(reasons))
        runs["exhaustive"].append(count)
        by_width[width].append(len(reasons))
        errors.append(abs(best / exhaustive - 1))
    n = len(errors)
    print(f"{n} simulated servers, the truth inside the prediction's interval; constant-rate runs:")
    for name, counts in runs.items():
        print(f"  {name:10} mean {statistics.mean(counts):.1f}, max {max(counts)}")
    for width, counts in sorted(by_width.items()):
        print(
            f"  interval {width:g} wide: guided mean {statistics.mean(counts):.1f}, "
            f"max {max(counts)}"
        )
    print(f"guided against exhaustive: max |error| {100 * max(errors):.1f}%")


if __name__ == "__main__":
    main()
