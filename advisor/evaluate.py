"""The one evaluation path: configurations in, priced and predicted options out.

`advise` (through the search), `predict` and the HTTP service all evaluate here, so a figure
means the same wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from advisor.accuracy import Recovery
from advisor.cells import AsyncPrediction, Cell, SyncPrediction
from advisor.fleet import deployments_for, fleet_figures
from advisor.predictor import PerformancePredictor
from advisor.search import Option
from advisor.vocabulary import Format, Mode


def _sync_fields(s: SyncPrediction) -> dict[str, Any]:
    return {
        "ttft_ms": s.ttft_ms,
        "itl_ms": s.itl_ms,
        "latency_s": s.latency_s,
        "latency_s_lo": s.latency_s_lo,
        "latency_s_hi": s.latency_s_hi,
        "latency_bound_s": s.latency_bound_s,
        "engine": s.engine,
    }


def _recovery_fields(recovery: Recovery | None) -> dict[str, Any]:
    if recovery is None:
        return {}
    return {
        "recovery_pct": recovery.recovery_pct,
        "recovery_pct_lo": recovery.recovery_pct_lo,
        "recovery_pct_hi": recovery.recovery_pct_hi,
        "accuracy_label": recovery.label,
    }


def _sync_option(s: SyncPrediction, count: int, usd: float | None) -> dict[str, Any]:
    """One request at a time on a tensor-parallel group of every GPU of the budget."""
    fields: dict[str, Any] = {
        "tensor_parallel_size": count,
        "replicas": 1,
        "label": s.label,
        "max_qps": 1 / s.latency_s,
    }
    if usd is not None:
        fields.update(
            usd_per_query=usd * s.latency_s / 3600,
            usd_per_query_lo=usd * s.latency_s_lo / 3600,
            usd_per_query_hi=usd * s.latency_s_hi / 3600,
        )
    return fields


def _async_option(a: AsyncPrediction, usd: float | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "tensor_parallel_size": a.tensor_parallel_size,
        "replicas": a.replicas,
        "label": a.label,
        "max_qps": a.max_qps,
        "max_qps_lo": a.max_qps_lo,
        "max_qps_hi": a.max_qps_hi,
        "max_qps_unconstrained": a.max_qps_unconstrained,
    }
    if usd is not None and a.max_qps > 0:
        fields.update(
            usd_per_query=usd / (3600 * a.max_qps),
            usd_per_query_lo=usd / (3600 * a.max_qps_hi),
            usd_per_query_hi=usd / (3600 * a.max_qps_lo) if a.max_qps_lo > 0 else None,
        )
    return fields


def evaluate(
    predictor: PerformancePredictor,
    cells: Sequence[Cell],
    usd_per_hour: Sequence[float | None],
    *,
    mode: Mode,
    ttft_limit_ms: float | None = None,
    itl_limit_ms: float | None = None,
    target_qps: float | None = None,
    recoveries: Mapping[Format, Recovery] | None = None,
) -> list[Option]:
    """Predict, price and (with `target_qps`) size every cell. Vectorised over the cells.

    In async mode TTFT, ITL and latency are those of one request on one replica of the chosen
    arrangement, at low load.
    """
    if not cells:
        return []
    if mode is Mode.ASYNC:
        asyn: list[AsyncPrediction | None] = list(
            predictor.predict_async(cells, ttft_limit_ms, itl_limit_ms)
        )
        per_replica = [
            c.model_copy(update={"gpu_count": a.tensor_parallel_size})
            for c, a in zip(cells, asyn, strict=True)
            if a is not None
        ]
        sync = predictor.predict_sync(per_replica)
    else:
        asyn = [None] * len(cells)
        sync = predictor.predict_sync(cells)
    options = []
    for cell, usd, s, a in zip(cells, usd_per_hour, sync, asyn, strict=True):
        fields: dict[str, Any] = {
            "format": cell.format,
            "gpu": cell.gpu.gpu,
            "gpu_count": cell.gpu_count,
            "usd_per_hour": usd,
            **_sync_fields(s),
            **_recovery_fields(recoveries.get(cell.format) if recoveries else None),
        }
        fields.update(_sync_option(s, cell.gpu_count, usd) if a is None else _async_option(a, usd))
        if fields.get("usd_per_query"):
            fields["queries_per_usd"] = 1 / fields["usd_per_query"]
        if target_qps is not None and usd is not None and fields["max_qps"] > 0:
            count = deployments_for(target_qps, fields["max_qps"])
            fields.update(fleet_figures(count, usd, target_qps, cell.decode_tokens))
        options.append(Option(**fields))
    return options
