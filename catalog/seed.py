"""Load the embedded data (`data/`) into a catalog, idempotently.

Reference tables are upserted; the study's and the model cards' measurements go through
`store.ingest`, the same path as imported GuideLLM and lm-eval results: one source per
published-table file, one per card. Synchronous cells pass the consistency check first.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from typing import Any

from advisor.vocabulary import Format
from catalog import cards, hygiene
from catalog.db import Connection, meta, transaction
from catalog.records import (
    AccuracyRow,
    AsyncRow,
    Batch,
    RunRecord,
    SourceRecord,
    SyncRow,
)
from catalog.sqlfiles import checksum, migrations, sql
from catalog.store import SEEDED_KINDS, delete_source, ingest

CITATION = (
    'Kurtic, Marques, Pandit, Kurtz, Alistarh. "Give Me BF16 or Give Me Death"? '
    "Accuracy-Performance Trade-Offs in LLM Quantization (Neural Magic / ISTA, 2024)"
)
STUDY_MODELS = {
    "8b": "llama-3.1-8b-instruct",
    "70b": "llama-3.1-70b-instruct",
    "405b": "llama-3.1-405b-instruct",
}
# vLLM 0.6.1.post2 on Lambda Labs hosts, GuideLLM load generation (the study's section 5).
STUDY_ENGINE = ("vllm", "0.6.1.post2")
STUDY_PERF_ARGS = {
    "engine": STUDY_ENGINE[0],
    "engine_version": STUDY_ENGINE[1],
    "load_generator": "guidellm",
}
STUDY_PROTOCOL = "P1"
# Why the study's transcribed flags (data/study_*.csv, the weight-streaming rule) are set.
PHYSICAL_REASONS: dict[str, str] = {
    "truncated": "truncated: faster than streaming the weights once per nominal output token at "
    "datasheet bandwidth allows (data/README.md)",
    "suspect": "suspect: would need over 90% of datasheet bandwidth over the whole request "
    "(data/README.md)",
}
ASYNC_REASON = (
    "suspect: a long-decode cell from the harness whose synchronous long-decode cells ended "
    "early (data/README.md)"
)

# (table, key columns, statement). Upserts keep user rows and rows that reference these.
REFERENCE_TABLES: list[tuple[str, str, list[str]]] = [
    ("formats.csv", "formats", ["format"]),
    ("format_support.csv", "format_support", ["vendor", "architecture", "format"]),
    ("gpus.csv", "gpu_specs", ["gpu"]),
    ("models.csv", "model_specs", ["model"]),
    ("use_cases.csv", "use_cases", ["use_case"]),
    ("price_lists.csv", "price_lists", ["price_list"]),
    ("prices.csv", "prices", ["price_list", "gpu", "gpu_count"]),
    ("aliases.csv", "aliases", ["kind", "alias"]),
]


SEED_FILES = (
    "aliases.csv",
    "format_support.csv",
    "formats.csv",
    "gpus.csv",
    "models.csv",
    "price_lists.csv",
    "prices.csv",
    "study_accuracy.csv",
    "study_async.csv",
    "study_sync.csv",
    "use_cases.csv",
    cards.PERFORMANCE,
    cards.ACCURACY,
)
# data/gpu_prices_2026.csv and gpu_specs_2026.csv are the evidence for prices.csv (built from it by
# scripts/build_price_lists.py) and gpus.csv; tests recompute both, so they are not loaded either.
# data/configs/*/config.json are the evidence for the card models' rows in models.csv (a test
# recomputes them); the rows are what is loaded, so the configs need not ship or be digested.


@cache
def seed_digest() -> str:
    """Digest of the embedded data and the schema: a change in either rebuilds the study rows."""
    digest = hashlib.sha256()
    data = resources.files("catalog.seed_data")
    for name in SEED_FILES:
        digest.update(name.encode())
        digest.update(data.joinpath(name).read_bytes())
    for version, _, text in migrations():
        digest.update(f"{version}:{checksum(text)}".encode())
    return digest.hexdigest()


def read_seed(name: str) -> tuple[bytes, list[dict[str, str]]]:
    raw = resources.files("catalog.seed_data").joinpath(name).read_bytes()
    return raw, list(csv.DictReader(io.StringIO(raw.decode())))


def printed_number(text: str) -> float:
    """A number as the study prints it: `1,403`, `20.2k` (thousands), `0.80`."""
    text = text.replace(",", "").strip()
    if text.endswith("k"):
        return float(text[:-1]) * 1000
    return float(text)


def _opt(text: str, convert: Callable[[str], Any] = float) -> Any:
    return convert(text) if text.strip() else None


def _upsert(con: Connection, table: str, keys: list[str], rows: Iterable[dict[str, str]]) -> None:
    for row in rows:
        values: dict[str, Any] = {k: (v if v != "" else None) for k, v in row.items()}
        if table == "model_specs":
            values["origin"] = "seed"
        columns = list(values)
        updates = [c for c in columns if c not in keys]
        statement = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            + (
                f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in updates)
                if updates
                else f" ON CONFLICT ({', '.join(keys)}) DO NOTHING"
            )
        )
        con.execute(statement, list(values.values()))


def _source(name: str, raw: bytes, tables: str) -> SourceRecord:
    return SourceRecord(
        kind="study",
        name=name,
        uri=f"data/{name}",
        sha256=hashlib.sha256(raw).hexdigest(),
        citation=f"{CITATION}, {tables}",
        host="embedded",
        details={"transcribed_from": "../shared/seed (the study's text)", "tables": tables},
    )


def _use_case_tokens(con: Connection) -> dict[str, tuple[int, int, float | None, float | None]]:
    rows = con.execute(
        "SELECT use_case, prefill_tokens, decode_tokens, ttft_limit_ms, itl_limit_ms FROM use_cases"
    ).fetchall()
    return {r[0]: (int(r[1]), int(r[2]), r[3], r[4]) for r in rows}


def group_rows(
    rows: list[dict[str, str]], *columns: str
) -> dict[tuple[str, ...], list[dict[str, str]]]:
    """Rows keyed by the values of `columns`, in file order: one run per key."""
    grouped: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        grouped[tuple(row[c] for c in columns)].append(row)
    return grouped


def _perf_run(label: str, model: str, gpu: str, count: str, fmt: str, **rows: Any) -> RunRecord:
    return RunRecord(
        label=label,
        model=STUDY_MODELS[model],
        format=Format(fmt),
        gpu=gpu,
        gpu_count=int(count),
        engine=STUDY_ENGINE[0],
        engine_version=STUDY_ENGINE[1],
        args=STUDY_PERF_ARGS,
        **rows,
    )


def sync_batch(con: Connection) -> Batch:
    raw, rows = read_seed("study_sync.csv")
    tokens = _use_case_tokens(con)
    runs = [
        _perf_run(
            table,
            model,
            gpu,
            count,
            fmt,
            sync=[
                SyncRow(
                    use_case=c["use_case"],
                    prefill_tokens=tokens[c["use_case"]][0],
                    decode_tokens=tokens[c["use_case"]][1],
                    latency_s=float(c["latency_s"]),
                    published_queries_per_usd=printed_number(c["queries_per_usd"]),
                    published_cost_reduction=_opt(c["published_cost_reduction"]),
                    decode_flag=c["decode_flag"] or None,
                    decode_reason=PHYSICAL_REASONS.get(c["decode_flag"]),
                )
                for c in cells
            ],
        )
        for (table, model, gpu, count, fmt), cells in group_rows(
            rows, "table", "model", "gpu", "gpu_count", "format"
        ).items()
    ]
    return Batch(source=_source("study_sync.csv", raw, "Table 5"), runs=runs)


def async_batch(con: Connection) -> Batch:
    raw, rows = read_seed("study_async.csv")
    tokens = _use_case_tokens(con)
    runs = [
        _perf_run(
            f"{table}:{block}",
            model,
            gpu,
            count,
            fmt,
            async_=[
                AsyncRow(
                    use_case=c["use_case"],
                    prefill_tokens=tokens[c["use_case"]][0],
                    decode_tokens=tokens[c["use_case"]][1],
                    max_qps=float(c["max_qps"]),
                    ttft_limit_ms=tokens[c["use_case"]][2],
                    itl_limit_ms=tokens[c["use_case"]][3],
                    published_queries_per_usd=printed_number(c["queries_per_usd"]),
                    published_speedup=_opt(c["published_speedup"]),
                    decode_flag=c["decode_flag"] or None,
                    decode_reason=ASYNC_REASON if c["decode_flag"] else None,
                )
                for c in cells
            ],
        )
        for (table, block, model, gpu, count, fmt), cells in group_rows(
            rows, "table", "block", "model", "gpu", "gpu_count", "format"
        ).items()
    ]
    return Batch(source=_source("study_async.csv", raw, "Table 6"), runs=runs)


def accuracy_batch() -> Batch:
    raw, rows = read_seed("study_accuracy.csv")
    runs = [
        RunRecord(
            label=table,
            model=STUDY_MODELS[model],
            format=Format(fmt),
            method=method or None,
            accuracy=[
                AccuracyRow(
                    suite=c["suite"],
                    task=c["task"],
                    metric=c["metric"],
                    n_shot=_opt(c["n_shot"], int),
                    run_index=_opt(c["run"], int),
                    score=float(c["score"]),
                    ci95_low_delta=_opt(c["ci95_low_delta"]),
                    ci95_high_delta=_opt(c["ci95_high_delta"]),
                    published_recovery_pct=_opt(c["published_recovery_pct"]),
                    protocol=STUDY_PROTOCOL,
                )
                for c in cells
            ],
        )
        for (table, model, fmt, method), cells in group_rows(
            rows, "table", "model", "format", "method"
        ).items()
    ]
    return Batch(
        source=_source("study_accuracy.csv", raw, "Tables 1, 2, 3, 7, 8, 10, 11, 12, 13"),
        runs=runs,
    )


def _catalog_model(con: Connection) -> Callable[[str], str | None]:
    names = dict(
        con.execute(
            "SELECT alias, canonical FROM (" + sql("names") + ") WHERE kind = 'model'"
        ).fetchall()
    )
    return lambda name: names.get(name.strip().lower())


def card_batches(con: Connection) -> list[Batch]:
    batches = cards.card_batches(
        read_seed(cards.PERFORMANCE)[1], read_seed(cards.ACCURACY)[1], _catalog_model(con)
    )
    return [hygiene.checked(b) for b in batches]


def load_seed(con: Connection, digest: str) -> None:
    """Bring the embedded data up to date: one transaction, user imports untouched."""
    with transaction(con):
        # The shipped lists are rebuilt whole: an entry dropped from prices.csv leaves with it.
        shipped = [row["price_list"] for row in read_seed("price_lists.csv")[1]]
        con.execute("DELETE FROM prices WHERE list_contains(?, price_list)", [shipped])
        for name, table, keys in REFERENCE_TABLES:
            _upsert(con, table, keys, read_seed(name)[1])
        for (source_id,) in con.execute(
            "SELECT source_id FROM sources WHERE list_contains(?, kind)", [list(SEEDED_KINDS)]
        ).fetchall():
            delete_source(con, int(source_id))
    # Each study table and each card is its own source and its own transaction, like an import.
    for batch in (hygiene.checked(sync_batch(con)), async_batch(con), accuracy_batch()):
        ingest(con, batch)
    for batch in card_batches(con):
        ingest(con, batch)
    # Last: a build cut short is found stale and redone at the next open.
    con.execute(
        "INSERT INTO catalog_meta VALUES ('seed_digest', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [digest],
    )


def seed(con: Connection) -> bool:
    """Load the embedded data when the catalog does not hold it as shipped; True if it did."""
    digest = seed_digest()
    if meta(con, "seed_digest") == digest:
        return False
    load_seed(con, digest)
    return True
