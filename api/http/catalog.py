"""The catalog reads: models, GPUs, formats, use cases and the measurement rows."""

from __future__ import annotations

import json
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from advisor.data import Snapshot
from advisor.vocabulary import FORMAT_ALIASES, FORMAT_COMPUTE, Format, parse_format
from api.http.deps import ENGINE
from api.http.problems import READ_SPEC
from api.runtime import Engine
from api.schemas import (
    FormatOut,
    GpuOut,
    MeasurementPage,
    ModelOut,
    PriceListOut,
    UseCaseOut,
)
from catalog import queries

FORMAT_NEEDS = {
    Format.BF16: "any GPU vLLM runs on",
    Format.FP8: "FP8 tensor cores (Ada, Hopper, Blackwell, AMD CDNA3); on Ampere it runs "
    "weight-only (FP8 weights, BF16 math)",
    Format.INT8: "INT8 tensor cores, in vLLM on NVIDIA Ampere, Ada and Hopper only",
    Format.INT4: "an NVIDIA GPU, Ampere or newer (BF16 math; not listed for AMD)",
}


def gpu_rows(snapshot: Snapshot) -> list[GpuOut]:
    """Every GPU with its figures, the formats vLLM runs on it, and its default price."""
    prices = snapshot.price_list()
    aliases: dict[str, list[str]] = {}
    for n in snapshot.names:
        if n.kind == "gpu" and n.alias != n.canonical:
            aliases.setdefault(n.canonical, []).append(n.alias)
    out = []
    for g in snapshot.gpus:
        listed = sorted((e for e in prices.entries if e.gpu == g.gpu), key=lambda e: e.gpu_count)
        # The single-GPU price where listed, else the smallest offer's per GPU (as the view).
        first = listed[0] if listed else None
        out.append(
            GpuOut(
                **g.model_dump(exclude={"nodes_of", "formats", "source"}),
                formats={f.value: g.support_for(f).support.value for f in Format},
                spec_source=g.source,
                usd_per_gpu_hour=first.usd_per_hour / first.gpu_count if first else None,
                price_list=prices.name,
                price_basis=first.basis if first else None,
                price_fallback=first.fallback if first else None,
                aliases=sorted(aliases.get(g.gpu, [])),
            )
        )
    return out


class CatalogController(Controller):
    """Reads of the catalog's reference data and rows; each may reload the fit, so in threads."""

    path = "/v1"
    tags = ("catalog",)
    dependencies = ENGINE

    @get("/models", sync_to_thread=True)
    def models(self, engine: NamedDependency[Engine]) -> list[ModelOut]:
        """Models in the catalog (others can be given as a config.json to `advise`)."""
        return [
            ModelOut(
                model=m.model,
                hf_id=m.hf_id,
                **m.arch.model_dump(include=set(ModelOut.model_fields) - {"model", "hf_id"}),
            )
            for m in engine.current().snapshot.models
        ]

    @get("/gpus", sync_to_thread=True)
    def gpus(self, engine: NamedDependency[Engine]) -> list[GpuOut]:
        """GPU types with datasheet specs, the formats vLLM runs on each, what is missing or
        estimated, and the default price per GPU-hour with its basis."""
        return gpu_rows(engine.current().snapshot)

    @get("/price-lists", sync_to_thread=True)
    def price_lists(self, engine: NamedDependency[Engine]) -> list[PriceListOut]:
        """The shipped price lists, default first: what `price_list` (and `--price-list`) take."""
        return [
            PriceListOut(
                price_list=p.name,
                description=p.description,
                as_of=p.as_of.isoformat() if p.as_of else None,
                source=p.source,
                is_default=p.is_default,
                gpus=p.gpus(),
            )
            for p in engine.current().snapshot.price_lists
        ]

    @get("/formats", sync_to_thread=False)
    def formats(self) -> list[FormatOut]:
        """Quantization formats and the spellings accepted for them."""
        return [
            FormatOut(
                format=f.value,
                aliases=sorted(a for a, v in FORMAT_ALIASES.items() if v is f and a != f.value),
                compute_type=FORMAT_COMPUTE[f].value,
                needs=FORMAT_NEEDS[f],
            )
            for f in Format
        ]

    @get("/use-cases", sync_to_thread=True)
    def use_cases(self, engine: NamedDependency[Engine]) -> list[UseCaseOut]:
        """The study's use cases: token counts and latency limits."""
        return [UseCaseOut(**u.model_dump()) for u in engine.current().snapshot.use_cases]

    @get("/measurements", sync_to_thread=True, responses=READ_SPEC)
    def measurements(
        self,
        engine: NamedDependency[Engine],
        kind: Annotated[
            str,
            QueryParameter(
                description="sync, async, accuracy or load_points",
                pattern="^(sync|async|accuracy|load_points)$",
            ),
        ] = "sync",
        model: FromQuery[str | None] = None,
        formats: Annotated[str | None, QueryParameter(name="format")] = None,
        gpu: FromQuery[str | None] = None,
        use_case: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=10**9)] = 0,
    ) -> MeasurementPage:
        """Catalog rows (the public views), filtered and paginated."""
        snapshot = engine.current().snapshot
        filters = {
            "model": snapshot.resolve("model", model) if model else None,
            "format": parse_format(formats).value if formats else None,
            "gpu": snapshot.resolve("gpu", gpu) if gpu else None,
            "use_case": snapshot.resolve("use_case", use_case) if use_case else None,
        }
        total, items = engine.access.read(
            lambda con: queries.page(con, kind, filters, limit, offset)
        )
        return MeasurementPage(
            kind=kind,
            total=total,
            limit=limit,
            offset=offset,
            items=json.loads(json.dumps(items, default=str)),
        )
