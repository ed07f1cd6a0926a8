"""How good the performance models are, from grouped cross-validation over the catalog.

Every figure is held-out: the rows of a use case (or of a whole configuration) are predicted by
models fitted without them. The baseline is a naive roofline: datasheet bandwidth and FLOP/s,
no fitted constants (synchronous latency at its bound; asynchronous QPS of the same steady-state
simulation with every overhead at zero).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from advisor.data import Snapshot
from advisor.estimators import AsyncThroughputModel, SyncLatencyModel
from advisor.hardware import PriceList
from advisor.performance import COL, Array, async_bound, sync_bounds
from advisor.predictor import (
    SHORT_DECODE_TOKENS,
    TrainingSet,
    async_training,
    held_out,
    sync_training,
)


def _ape_summary(predicted: Array, measured: Array, mask: Array) -> dict[str, Any]:
    ok = mask & np.isfinite(predicted) & (measured > 0)
    if not ok.any():
        return {"median_ape_pct": None, "p90_ape_pct": None, "n": 0}
    ape = 100 * np.abs(predicted[ok] - measured[ok]) / measured[ok]
    return {
        "median_ape_pct": round(float(np.median(ape)), 2),
        "p90_ape_pct": round(float(np.percentile(ape, 90)), 2),
        "n": int(ok.sum()),
    }


def _agreement(
    data: TrainingSet, predicted: Array, measured: Array, prices: PriceList, per_query: bool
) -> tuple[int, int]:
    """Groups (model, GPU, use case, source) where the format with the best predicted queries
    per dollar is the measured best; (agreeing, total)."""
    groups: dict[tuple[str, ...], list[tuple[str, float, float]]] = defaultdict(list)
    for i, cell in enumerate(data.cells):
        usd = prices.usd_per_hour(cell.gpu.gpu, cell.gpu_count)
        if usd is None or (not data.clean[i] and not per_query) or not np.isfinite(predicted[i]):
            continue
        if per_query:  # synchronous: queries per USD = 3600 / (latency x price)
            q_meas, q_pred = 3600 / (measured[i] * usd), 3600 / (predicted[i] * usd)
        else:  # asynchronous: queries per USD = 3600 x QPS / price
            q_meas, q_pred = 3600 * measured[i] / usd, 3600 * predicted[i] / usd
        key = (cell.model.model, cell.gpu.gpu, data.use_cases[i], data.sources[i])
        groups[key].append((cell.format.value, q_meas, q_pred))
    agree = total = 0
    for rows in groups.values():
        if len(rows) < 2:
            continue
        total += 1
        agree += max(rows, key=lambda r: r[1])[0] == max(rows, key=lambda r: r[2])[0]
    return agree, total


def fidelity(snapshot: Snapshot) -> dict[str, Any]:
    """The fitted models and the naive roofline, side by side, in one document."""
    prices = snapshot.price_list()
    sync = sync_training(snapshot)
    short = sync.X[:, COL["decode"]] <= SHORT_DECODE_TOKENS
    ttft, itl = sync_bounds(sync.X)
    naive_sync = ttft + (sync.X[:, COL["decode"]] - 1) * itl
    uc_out = held_out(SyncLatencyModel, sync, sync.use_cases)
    config_out = held_out(SyncLatencyModel, sync, sync.configs)

    asy = async_training(snapshot)
    asy_ok = asy.clean & ~np.isnan(asy.X).any(axis=1)
    asy_uc_out = held_out(AsyncThroughputModel, asy, asy.use_cases)
    naive_async = np.full(len(asy.y), np.nan)
    finite = ~np.isnan(asy.X).any(axis=1)
    naive_async[finite] = async_bound(asy.X[finite])

    def document(sync_uc: Array, sync_cfg: Array, async_uc: Array) -> dict[str, Any]:
        agree_s, total_s = _agreement(sync, sync_uc, sync.y, prices, per_query=True)
        agree_a, total_a = _agreement(asy, async_uc, asy.y, prices, per_query=False)
        total = total_s + total_a
        return {
            "sync_short_use_case_out": _ape_summary(sync_uc, sync.y, sync.clean & short),
            "sync_long_use_case_out": _ape_summary(sync_uc, sync.y, ~short),
            "sync_config_out": _ape_summary(sync_cfg, sync.y, sync.clean),
            "async_use_case_out": _ape_summary(async_uc, asy.y, asy_ok),
            "decision_agreement_pct": round(100 * (agree_s + agree_a) / total, 1)
            if total
            else None,
            "decision_groups": {"sync": [agree_s, total_s], "async": [agree_a, total_a]},
        }

    out = document(uc_out, config_out, asy_uc_out)
    out["baseline"] = document(naive_sync, naive_sync, naive_async)
    out["notes"] = {
        "sync_long": "the study's 1,024-token cells mostly ended generation early (data/README.md):"
        " their measured latencies are not those of the nominal length, so this error is large by"
        " construction; the fit leaves them out",
        "excluded": "rows flagged truncated or suspect, and the ambiguous first '16xH100' block of"
        " Table 6, are predicted but not fitted on or scored (except sync_long)",
    }
    return out
