"""The one evaluation path: configurations in, priced and predicted options out.

`advise` (through the search), `predict` and the HTTP service all evaluate here, so a figure
means the same wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from advisor.accuracy import Recovery
from advisor.cells import AsyncPrediction, Cell, SyncPrediction
from advisor.fleet import fleet_figures, sized_deployments
from advisor.operating import LoadQuestion
from advisor.predictor import PerformancePredictor
from advisor.search import Option
from advisor.vocabulary import Format, Mode


def _sync_fields(s: SyncPrediction) -> dict[str, Any]:
    return {
        "ttft_ms": s.ttft_ms,
        "itl_ms": s.itl_ms,
        "ttft_unloaded_ms": s.ttft_ms,
        "itl_unloaded_ms": s.itl_ms,
        "latency_unloaded_s": s.latency_s,
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
        "accuracy_basis": recovery.basis,
    }


def _sync_option(s: SyncPrediction, count: int, usd: float | None) -> dict[str, Any]:
    """One request at a time on a tensor-parallel group of every GPU of the budget."""
    fields: dict[str, Any] = {
        "tensor_parallel_size": count,
        "replicas": 1,
        "label": s.label,
        "max_qps": 1 / s.latency_s,
        "set_aside": s.set_aside,
    }
    if usd is not None:
        fields.update(
            usd_per_query=usd * s.latency_s / 3600,
            usd_per_query_lo=usd * s.latency_s_lo / 3600,
            usd_per_query_hi=usd * s.latency_s_hi / 3600,
        )
    return fields


def _async_option(a: AsyncPrediction, usd: float | None) -> dict[str, Any]:
    """Capacity within the limits, and the figures at the operating point (a replica's TTFT and
    ITL alone become the unloaded figures; the latency bound stays the idle one)."""
    fields: dict[str, Any] = {
        "tensor_parallel_size": a.tensor_parallel_size,
        "replicas": a.replicas,
        "label": a.label,
        "max_qps": a.max_qps,
        "max_qps_lo": a.max_qps_lo,
        "max_qps_hi": a.max_qps_hi,
        "max_qps_unconstrained": a.max_qps_unconstrained,
        "binding_constraint": a.binding_constraint,
        "operating_qps": a.operating_qps or None,
        "ttft_ms": a.ttft_ms,
        "ttft_ms_lo": a.ttft_ms_lo,
        "ttft_ms_hi": a.ttft_ms_hi,
        "itl_ms": a.itl_ms,
        "itl_ms_lo": a.itl_ms_lo,
        "itl_ms_hi": a.itl_ms_hi,
        "latency_s": a.latency_s,
        "latency_s_lo": a.latency_s_lo,
        "latency_s_hi": a.latency_s_hi,
        "meets_limits_probability": a.meets_limits_probability,
    }
    if usd is not None and a.max_qps > 0:
        # A query's cost at the operating rate: sized for a load with whole deployments, each
        # runs below its capacity; the fleet's price is then certain, its chance to keep up not.
        sized = a.deployments is not None
        fields.update(
            usd_per_query=usd / (3600 * (a.operating_qps or a.max_qps)),
            usd_per_query_lo=None if sized else usd / (3600 * a.max_qps_hi),
            usd_per_query_hi=None if sized or a.max_qps_lo <= 0 else usd / (3600 * a.max_qps_lo),
        )
    return fields


def evaluate(
    predictor: PerformancePredictor,
    cells: Sequence[Cell],
    usd_per_hour: Sequence[float | None],
    *,
    mode: Mode,
    question: LoadQuestion | None = None,
    target_qps: float | None = None,
    recoveries: Mapping[Format, Recovery] | None = None,
) -> list[Option]:
    """Predict, price and (with a target load) size every cell. Vectorised over the cells.

    In async mode `question` holds the limits, percentile, arrivals and load: TTFT, ITL and
    latency are at the operating point; the unloaded figures are one request alone on one
    replica of the chosen arrangement.
    """
    if not cells:
        return []
    if mode is Mode.ASYNC:
        question = question or LoadQuestion(target_qps=target_qps)
        target_qps = question.target_qps
        asyn: list[AsyncPrediction | None] = list(predictor.predict_async(cells, question))
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
            "weight_only": cell.gpu.runs_weight_only(cell.format),
            **_sync_fields(s),
            **_recovery_fields(recoveries.get(cell.format) if recoveries else None),
        }
        fields.update(_sync_option(s, cell.gpu_count, usd) if a is None else _async_option(a, usd))
        if fields.get("usd_per_query"):
            fields["queries_per_usd"] = 1 / fields["usd_per_query"]
        if target_qps is not None and usd is not None and fields["max_qps"] > 0:
            if a is not None and a.deployments is not None and question is not None:
                count = a.deployments
                fields["sized_qps_per_deployment"] = (
                    a.max_qps * (1 - question.headroom_pct / 100)
                    if question.headroom_pct is not None
                    else a.max_qps_lo
                )
            else:
                count = sized_deployments(target_qps, fields["max_qps"])
            fields.update(fleet_figures(count, usd, target_qps, cell.decode_tokens, cell.gpu_count))
        options.append(Option(**fields))
    return options
