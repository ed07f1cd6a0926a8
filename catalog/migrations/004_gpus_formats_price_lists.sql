-- The GPUs of 2026 and their price lists: each GPU says which figures its sources lack and which
-- are estimates; which formats vLLM runs on which architecture (and how) is data; every price
-- says where it comes from (provider, offer, the rule that made it); the views show all of it.

-- FP4 is stored as published (no catalog format computes in it yet). The two lists name
-- columns of this table, ';'-separated: `missing_fields` are figures the hardware has that no
-- stored source gives (left empty), `estimated_fields` figures filled in by an estimate whose
-- basis the `source` states. DuckDB cannot add a column with a CHECK: the seed validates them.
ALTER TABLE gpu_specs ADD COLUMN fp4_tflops DOUBLE;
ALTER TABLE gpu_specs ADD COLUMN missing_fields VARCHAR;
ALTER TABLE gpu_specs ADD COLUMN estimated_fields VARCHAR;

-- vLLM's table: at what a format runs on an architecture. `native`: as the format is defined;
-- `weight_only`: the weights in the format, the math in BF16 (FP8 on Ampere, through Marlin);
-- `no`: vLLM does not run it there (the note says why).
CREATE TABLE format_support (
    vendor       VARCHAR NOT NULL,
    architecture VARCHAR NOT NULL,
    format       VARCHAR NOT NULL REFERENCES formats (format),
    support      VARCHAR NOT NULL CHECK (support IN ('native', 'weight_only', 'no')),
    note         VARCHAR,
    source       VARCHAR NOT NULL,
    PRIMARY KEY (vendor, architecture, format)
);

-- Where a price comes from: the provider and offer when it is one provider's, the rule and its
-- inputs (`basis`), and `fallback` when the list's own sources do not price the GPU:
-- 'hyperscalers' (their median) or 'nearest_gpu' (an estimate; the basis names the GPU).
ALTER TABLE prices ADD COLUMN provider VARCHAR;
ALTER TABLE prices ADD COLUMN sku VARCHAR;
ALTER TABLE prices ADD COLUMN basis VARCHAR;
ALTER TABLE prices ADD COLUMN fallback VARCHAR;

-- Per-GPU price in the default list: the single-GPU price where listed, else the smallest
-- listed node's per-GPU price; with the entry's basis and fallback.
CREATE OR REPLACE VIEW gpu_prices AS
WITH cheapest_offer AS (
    SELECT p.*, row_number() OVER (PARTITION BY p.gpu ORDER BY p.gpu_count) AS offer_rank
    FROM prices AS p
    WHERE p.price_list = default_price_list()
)
SELECT
    g.gpu, g.name, g.vendor, g.architecture, g.memory_gib, g.mem_bw_gbps, g.bf16_tflops,
    g.fp8_tflops, g.int8_tops, g.interconnect, g.interconnect_gbps, g.nodes_of, g.source,
    o.usd_per_hour / o.gpu_count AS usd_per_gpu_hour,
    (SELECT l.source FROM price_lists AS l WHERE l.price_list = default_price_list())
        AS default_price_source,
    g.fp4_tflops, g.missing_fields, g.estimated_fields,
    o.price_list, o.basis AS price_basis, o.fallback AS price_fallback
FROM gpu_specs AS g
LEFT JOIN cheapest_offer AS o ON o.gpu = g.gpu AND o.offer_rank = 1;

CREATE OR REPLACE VIEW gpus AS
SELECT
    gpu, memory_gib, mem_bw_gbps, bf16_tflops, fp8_tflops, int8_tops, usd_per_gpu_hour,
    CASE WHEN usd_per_gpu_hour IS NOT NULL THEN default_price_source END AS price_source,
    name, architecture, interconnect, interconnect_gbps, nodes_of, source AS spec_source,
    vendor, fp4_tflops, missing_fields, estimated_fields, price_list, price_basis, price_fallback
FROM gpu_prices;

CREATE OR REPLACE VIEW price_points AS
SELECT
    p.price_list, p.gpu, p.gpu_count, p.usd_per_hour, p.usd_per_hour / p.gpu_count AS usd_per_gpu_hour,
    l.is_default, l.as_of, l.source,
    p.provider, p.sku, p.basis, p.fallback, l.name AS price_list_name
FROM prices AS p
JOIN price_lists AS l USING (price_list);
