"""Build the shipped price lists (data/prices.csv, data/price_lists.csv) from the dated price
table data/gpu_prices_2026.csv (a copy of ../shared/data/gpus/prices.csv), by the rule of
data/README.md ("Price lists"). Run it after changing that table or data/gpus.csv;
tests/catalog/test_price_lists.py recomputes both files and fails when they differ.

    python scripts/build_price_lists.py
"""

from __future__ import annotations

import csv
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
TABLE = "gpu_prices_2026.csv"
STUDY_LIST = "lambda-2024-10-28"
STUDY_BASIS = "the study's Table 9, as printed (transcribed, not built)"

# The table's GPU names that name one catalog GPU. The others are left out: ambiguous ("H100",
# "A100 80GB": SXM or PCIe?), pooled serverless tiers, or GPUs the catalog does not hold
# (GH200, H100 NVL, A10, the NVLink-bridged PCIe variants).
GPU_IDS = {
    "A100 40GB SXM": "a100-40gb",
    "A100 80GB SXM": "a100",
    "A100 80GB PCIe": "a100-pcie",
    "A10G": "a10g",
    "A6000": "a6000",
    "B200": "b200",
    "B300": "b300",
    "GB200": "gb200",
    "GB300": "gb300",
    "H100 PCIe": "h100-pcie",
    "H100 SXM": "h100",
    "H200": "h200",
    "L4": "l4",
    "L40": "l40",
    "L40S": "l40s",
    "MI300X": "mi300x",
    "RTX PRO 6000 Blackwell": "rtx-pro-6000",
}
# Each hyperscaler is its own list; together they price a GPU no specialised cloud lists.
HYPERSCALERS = {"AWS": "aws", "Google Cloud": "gcp", "Azure": "azure", "Oracle OCI": "oci"}
# A provider's whole list of one date, kept as its own list.
PROVIDER_LISTS = {("Lambda", "2026-09-20"): "lambda-2026-09-20"}
# Rows the table's README warns about, or that are not one on-demand price, by a word in `sku`.
LEFT_OUT = {
    "stale": "a pre-June-2025 AWS price in a table labelled Q1 2026 (the README's caution)",
    "conflicts": "AWS g6e multi-GPU prices that conflict between sources (the README's caution)",
    "on-demand-equivalent": "GCP 1-GPU A3 shapes are sold as Spot/Flex-start only",
    "range": "the top of a spot and on-demand range, not one on-demand price",
}
COLUMNS = ["price_list", "gpu", "gpu_count", "usd_per_hour", "provider", "sku", "basis", "fallback"]
LIST_COLUMNS = ["price_list", "name", "source", "as_of", "is_default"]


@dataclass(frozen=True)
class Offer:
    """One dated on-demand price of one offer (a GPU count) of one provider."""

    provider: str
    sku: str
    gpu: str
    gpu_count: int
    usd_per_hour: float
    region: str
    as_of: date
    source_url: str


def dated(text: str) -> date | None:
    """`2026-09-20`; `2026-Q1 (stated)` counts as the quarter's first day (the oldest the
    price can be); `undated` is None."""
    if match := re.fullmatch(r"(\d{4})-Q([1-4])(?: \(stated\))?", text.strip()):
        return date(int(match[1]), 3 * int(match[2]) - 2, 1)
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def listed(row: dict[str, str]) -> bool:
    """An on-demand list price: not a marketplace's or a serverless tier's."""
    where = f"{row['provider']} {row['region']}".lower()
    return "marketplace" not in where and "serverless" not in where


def offers(rows: Iterable[dict[str, str]]) -> list[Offer]:
    """The table's dated on-demand prices of catalog GPUs, each distinct price once (several
    transcriptions of one provider's price for one offer and region count once)."""
    seen: dict[tuple[object, ...], Offer] = {}
    for row in rows:
        when, gpu = dated(row["as_of"]), GPU_IDS.get(row["gpu"])
        if when is None or gpu is None or not listed(row):
            continue
        if any(word in row["sku"] for word in LEFT_OUT):
            continue
        offer = Offer(
            provider=row["provider"],
            sku=row["sku"],
            gpu=gpu,
            gpu_count=int(row["gpus_per_instance"]),
            usd_per_hour=float(row["usd_per_instance_hour"]),
            region=row["region"],
            as_of=when,
            source_url=row["source_url"],
        )
        key = (offer.provider, gpu, offer.gpu_count, offer.region, offer.usd_per_hour)
        if key not in seen or seen[key].as_of < when:
            seen[key] = offer
    return list(seen.values())


def _usd(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def median_entries(name: str, found: list[Offer], fallback: str = "") -> list[dict[str, str]]:
    """One entry per GPU and offer size: the median of its prices, with what it is made of."""
    by_offer: dict[tuple[str, int], list[Offer]] = defaultdict(list)
    for offer in found:
        by_offer[(offer.gpu, offer.gpu_count)].append(offer)
    entries = []
    for (gpu, count), group in sorted(by_offer.items()):
        providers = sorted({o.provider for o in group})
        skus = {o.sku for o in group}
        prices: dict[str, list[float]] = defaultdict(list)
        for o in group:
            prices[o.provider].append(o.usd_per_hour)
        inputs = "; ".join(
            f"{p} {', '.join(_usd(v) for v in sorted(prices[p]))}" for p in providers
        )
        entries.append(
            {
                "price_list": name,
                "gpu": gpu,
                "gpu_count": str(count),
                "usd_per_hour": _usd(statistics.median(o.usd_per_hour for o in group)),
                "provider": providers[0] if len(providers) == 1 else "",
                "sku": next(iter(skus)) if len(providers) == 1 and len(skus) == 1 else "",
                "basis": (f"median of {len(group)} prices" if len(group) > 1 else "one price")
                + f" for {count} GPU{'s' if count > 1 else ''}: {inputs}",
                "fallback": fallback,
            }
        )
    return entries


def _spec_distance(a: dict[str, str], b: dict[str, str]) -> float:
    """How far apart two GPUs are in memory, bandwidth and BF16 rate (log ratios)."""
    keys = ("memory_gib", "mem_bw_gbps", "bf16_tflops")
    return math.sqrt(sum(math.log(float(a[k]) / float(b[k])) ** 2 for k in keys))


def default_entries(
    name: str, specialised: list[Offer], hyperscaler: list[Offer], gpus: list[dict[str, str]]
) -> list[dict[str, str]]:
    """The specialised clouds' medians; for a GPU they do not list, the hyperscalers' medians;
    for a GPU nobody lists, the prices of the nearest GPU of its vendor the specialised clouds
    price (an estimate). Every catalog GPU gets a price."""
    entries = median_entries(name, specialised)
    priced = {e["gpu"] for e in entries}
    for gpu in sorted({o.gpu for o in hyperscaler} - priced):
        entries += median_entries(name, [o for o in hyperscaler if o.gpu == gpu], "hyperscalers")
    by_id = {g["gpu"]: g for g in gpus}
    for gpu in sorted(set(by_id) - {e["gpu"] for e in entries}):
        peers = [by_id[p] for p in sorted(priced) if by_id[p]["vendor"] == by_id[gpu]["vendor"]]
        nearest = min(peers, key=lambda p: _spec_distance(by_id[gpu], p))["gpu"]
        for entry in [e for e in entries if e["gpu"] == nearest and not e["fallback"]]:
            entries.append(
                {
                    **entry,
                    "gpu": gpu,
                    "provider": "",
                    "sku": "",
                    "basis": f"estimated: no dated on-demand price of {gpu} in {TABLE}; priced "
                    f"as {nearest}, the {by_id[gpu]['vendor'].upper()} GPU priced by the "
                    "specialised clouds nearest in memory, bandwidth and BF16 rate "
                    f"({nearest}: {entry['basis']})",
                    "fallback": "nearest_gpu",
                }
            )
    return sorted(entries, key=lambda e: (e["gpu"], int(e["gpu_count"])))


def _span(found: list[Offer]) -> str:
    first, last = min(o.as_of for o in found), max(o.as_of for o in found)
    return f"dated {first} to {last}" if first != last else f"dated {last}"


def build(
    table: list[dict[str, str]], gpus: list[dict[str, str]], study: list[dict[str, str]]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(price list rows, price rows): the default market list, one list per hyperscaler,
    each provider list of PROVIDER_LISTS, and the study's list (`study`: its rows as they are)."""
    found = offers(table)
    specialised = [o for o in found if o.provider not in HYPERSCALERS]
    hyperscaler = [o for o in found if o.provider in HYPERSCALERS]
    newest = max(o.as_of for o in specialised)
    market = f"market-{newest:%Y-%m}"
    names = ", ".join(sorted({o.provider for o in specialised}))
    lists = [
        {
            "price_list": market,
            "name": "median of the specialised GPU clouds' on-demand prices",
            "source": f"median per GPU and offer size of the dated on-demand prices of {names} "
            f"({_span(specialised)}); where none lists a GPU, the median of AWS, Google Cloud, "
            "Azure and OCI; where nobody does, the nearest GPU of its vendor (an estimate). "
            f"From data/{TABLE} (../shared/data/gpus/prices.csv, each row with its URL); "
            "rule in data/README.md",
            "as_of": str(newest),
            "is_default": "true",
        }
    ]
    rows = default_entries(market, specialised, hyperscaler, gpus)
    for provider, short in HYPERSCALERS.items():
        own = [o for o in hyperscaler if o.provider == provider]
        last = max(o.as_of for o in own)
        name = f"{short}-{last:%Y-%m}"
        lists.append(
            {
                "price_list": name,
                "name": f"{provider} on-demand",
                "source": f"median per GPU and instance size of {provider}'s dated on-demand "
                f"prices over the regions listed ({_span(own)}), from data/{TABLE}",
                "as_of": str(last),
                "is_default": "false",
            }
        )
        rows += median_entries(name, own)
    for (provider, day), name in PROVIDER_LISTS.items():
        own = [o for o in found if o.provider == provider and str(o.as_of) == day]
        lists.append(
            {
                "price_list": name,
                "name": f"{provider} on-demand list of {day}",
                "source": f"{provider}'s {len(own)} on-demand offers dated {day} in data/{TABLE}: "
                + "; ".join(sorted({o.source_url for o in own})),
                "as_of": day,
                "is_default": "false",
            }
        )
        rows += median_entries(name, own)
    lists.append(
        {
            "price_list": STUDY_LIST,
            "name": "Lambda Labs on-demand (study Table 9)",
            "source": "Kurtic et al., 'Give me BF16 or give me death', Table 9, citing Lambda "
            "Labs GPU cloud pricing accessed 2024-10-28",
            "as_of": "2024-10-28",
            "is_default": "false",
        }
    )
    rows += [
        {**{c: r.get(c, "") for c in COLUMNS}, "provider": "Lambda", "basis": STUDY_BASIS}
        for r in study
    ]
    return lists, rows


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def build_from(data: Path = DATA) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The lists as built from the files in `data`: the table, the GPUs, the study's rows."""
    study = [r for r in read(data / "prices.csv") if r["price_list"] == STUDY_LIST]
    return build(read(data / TABLE), read(data / "gpus.csv"), study)


def main() -> None:
    lists, rows = build_from()
    write(DATA / "price_lists.csv", LIST_COLUMNS, lists)
    write(DATA / "prices.csv", COLUMNS, rows)
    for entry in lists:
        count = sum(r["price_list"] == entry["price_list"] for r in rows)
        print(f"{entry['price_list']}: {count} prices, as of {entry['as_of']}")


if __name__ == "__main__":
    main()
