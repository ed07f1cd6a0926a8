-- The catalog: reference data (models, formats, GPUs, prices, use cases), provenance
-- (sources and runs) and measurements (performance and accuracy), plus the public views.

CREATE TABLE catalog_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE TABLE model_specs (
    model                   VARCHAR PRIMARY KEY,
    hf_id                   VARCHAR,
    family                  VARCHAR,
    architecture            VARCHAR,
    params_b                DOUBLE  NOT NULL CHECK (params_b > 0),
    layers                  INTEGER NOT NULL CHECK (layers > 0),
    hidden_size             INTEGER NOT NULL CHECK (hidden_size > 0),
    heads                   INTEGER NOT NULL CHECK (heads > 0),
    kv_heads                INTEGER NOT NULL CHECK (kv_heads > 0),
    head_dim                INTEGER NOT NULL CHECK (head_dim > 0),
    intermediate_size       INTEGER NOT NULL CHECK (intermediate_size > 0),
    vocab_size              INTEGER NOT NULL CHECK (vocab_size > 0),
    tied_embeddings         BOOLEAN NOT NULL,
    attention_bias          BOOLEAN NOT NULL DEFAULT false,
    max_position_embeddings INTEGER,
    origin                  VARCHAR NOT NULL CHECK (origin IN ('seed', 'user')),
    source                  VARCHAR
);

-- Other names for models and GPUs (the study's short names, Hugging Face ids), lower-case.
CREATE TABLE aliases (
    kind      VARCHAR NOT NULL CHECK (kind IN ('model', 'gpu', 'use_case')),
    alias     VARCHAR NOT NULL,
    canonical VARCHAR NOT NULL,
    PRIMARY KEY (kind, alias)
);

CREATE TABLE formats (
    format          VARCHAR PRIMARY KEY,
    study_name      VARCHAR NOT NULL,
    weight_bits     INTEGER NOT NULL,
    activation_bits INTEGER NOT NULL,
    weight_type     VARCHAR NOT NULL,
    compute_type    VARCHAR NOT NULL,
    group_size      INTEGER,
    description     VARCHAR NOT NULL
);

CREATE TABLE gpu_specs (
    gpu               VARCHAR PRIMARY KEY,
    name              VARCHAR NOT NULL,
    vendor            VARCHAR NOT NULL,
    architecture      VARCHAR NOT NULL,
    memory_gib        DOUBLE  NOT NULL CHECK (memory_gib > 0),
    mem_bw_gbps       DOUBLE  NOT NULL CHECK (mem_bw_gbps > 0),
    bf16_tflops       DOUBLE  NOT NULL CHECK (bf16_tflops > 0),
    fp8_tflops        DOUBLE CHECK (fp8_tflops > 0),
    int8_tops         DOUBLE CHECK (int8_tops > 0),
    interconnect      VARCHAR NOT NULL,
    interconnect_gbps DOUBLE  NOT NULL CHECK (interconnect_gbps > 0),
    nodes_of          INTEGER NOT NULL CHECK (nodes_of > 0),
    source            VARCHAR NOT NULL
);

CREATE TABLE price_lists (
    price_list VARCHAR PRIMARY KEY,
    name       VARCHAR NOT NULL,
    source     VARCHAR NOT NULL,
    as_of      DATE    NOT NULL,
    is_default BOOLEAN NOT NULL
);

-- As listed: the per-GPU price may differ with the node size.
CREATE TABLE prices (
    price_list   VARCHAR NOT NULL REFERENCES price_lists (price_list),
    gpu          VARCHAR NOT NULL REFERENCES gpu_specs (gpu),
    gpu_count    INTEGER NOT NULL CHECK (gpu_count > 0),
    usd_per_hour DOUBLE  NOT NULL CHECK (usd_per_hour > 0),
    PRIMARY KEY (price_list, gpu, gpu_count)
);

CREATE TABLE use_cases (
    use_case       VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL CHECK (kind IN ('latency', 'throughput')),
    prefill_tokens INTEGER NOT NULL CHECK (prefill_tokens > 0),
    decode_tokens  INTEGER NOT NULL CHECK (decode_tokens > 0),
    ttft_limit_ms  DOUBLE CHECK (ttft_limit_ms > 0),
    itl_limit_ms   DOUBLE CHECK (itl_limit_ms > 0)
);

CREATE SEQUENCE source_ids START 1;
CREATE SEQUENCE run_ids START 1;
CREATE SEQUENCE load_point_ids START 1;

-- Provenance and measurement rows reference each other by id without FOREIGN KEY clauses:
-- DuckDB refuses to delete a parent row in the transaction that deleted its children, and a
-- source is always replaced whole (catalog/sql/delete_source.sql). Rows reference the
-- reference tables above through real foreign keys.

-- One ingested artefact: a published table file or one tool output file.
CREATE TABLE sources (
    source_id    INTEGER PRIMARY KEY DEFAULT nextval('source_ids'),
    kind         VARCHAR   NOT NULL CHECK (kind IN ('study', 'guidellm', 'lm-eval', 'profiler')),
    name         VARCHAR   NOT NULL,
    uri          VARCHAR   NOT NULL,
    sha256       VARCHAR   NOT NULL UNIQUE,
    tool         VARCHAR,
    tool_version VARCHAR,
    citation     VARCHAR,
    host         VARCHAR,
    imported_at  TIMESTAMP NOT NULL,
    details      JSON
);

-- One configuration measured within a source: what ran, on what, with which tool.
CREATE TABLE runs (
    run_id         INTEGER PRIMARY KEY DEFAULT nextval('run_ids'),
    source_id      INTEGER NOT NULL,
    label          VARCHAR,
    model          VARCHAR NOT NULL REFERENCES model_specs (model),
    format         VARCHAR NOT NULL REFERENCES formats (format),
    method         VARCHAR,
    gpu            VARCHAR REFERENCES gpu_specs (gpu),
    gpu_count      INTEGER CHECK (gpu_count > 0),
    use_case       VARCHAR REFERENCES use_cases (use_case),
    prefill_tokens INTEGER CHECK (prefill_tokens > 0),
    decode_tokens  INTEGER CHECK (decode_tokens > 0),
    started_at     TIMESTAMP,
    args           JSON
);

-- Synchronous deployment: one request at a time, end-to-end latency.
CREATE TABLE sync_results (
    run_id                    INTEGER NOT NULL,
    use_case                  VARCHAR REFERENCES use_cases (use_case),
    prefill_tokens            INTEGER NOT NULL CHECK (prefill_tokens > 0),
    decode_tokens             INTEGER NOT NULL CHECK (decode_tokens > 0),
    latency_s                 DOUBLE  NOT NULL CHECK (latency_s > 0),
    published_queries_per_usd DOUBLE,
    published_cost_reduction  DOUBLE,
    -- 'truncated': faster than streaming the weights once per nominal output token allows;
    -- 'suspect': would need over 90% of datasheet bandwidth (see data/README.md).
    decode_flag               VARCHAR CHECK (decode_flag IN ('truncated', 'suspect'))
);

-- Asynchronous deployment: the highest request rate within the stated TTFT/ITL limits
-- (no limits: the absolute maximum throughput).
CREATE TABLE async_results (
    run_id                    INTEGER NOT NULL,
    use_case                  VARCHAR REFERENCES use_cases (use_case),
    prefill_tokens            INTEGER NOT NULL CHECK (prefill_tokens > 0),
    decode_tokens             INTEGER NOT NULL CHECK (decode_tokens > 0),
    max_qps                   DOUBLE  NOT NULL CHECK (max_qps > 0),
    ttft_limit_ms             DOUBLE CHECK (ttft_limit_ms > 0),
    itl_limit_ms              DOUBLE CHECK (itl_limit_ms > 0),
    published_queries_per_usd DOUBLE,
    published_speedup         DOUBLE,
    decode_flag               VARCHAR CHECK (decode_flag IN ('truncated', 'suspect'))
);

-- One GuideLLM sub-benchmark (one strategy at one rate or concurrency).
CREATE TABLE benchmarks (
    load_point_id       INTEGER PRIMARY KEY DEFAULT nextval('load_point_ids'),
    run_id              INTEGER NOT NULL,
    benchmark_index     INTEGER NOT NULL CHECK (benchmark_index >= 0),
    strategy            VARCHAR NOT NULL,
    target_rate         DOUBLE CHECK (target_rate > 0),
    target_concurrency  INTEGER CHECK (target_concurrency > 0),
    achieved_rps        DOUBLE CHECK (achieved_rps >= 0),
    concurrency         DOUBLE CHECK (concurrency >= 0),
    prompt_tokens_mean  DOUBLE CHECK (prompt_tokens_mean >= 0),
    output_tokens_mean  DOUBLE CHECK (output_tokens_mean >= 0),
    output_tokens_per_s DOUBLE CHECK (output_tokens_per_s >= 0),
    successful          INTEGER NOT NULL CHECK (successful >= 0),
    errored             INTEGER NOT NULL CHECK (errored >= 0),
    incomplete          INTEGER NOT NULL CHECK (incomplete >= 0),
    duration_s          DOUBLE CHECK (duration_s >= 0),
    started_at          TIMESTAMP,
    UNIQUE (run_id, benchmark_index)
);

-- Distributions of successful requests; units are in the metric's name.
CREATE TABLE latency_stats (
    load_point_id INTEGER NOT NULL,
    metric        VARCHAR NOT NULL CHECK (metric IN ('ttft_ms', 'itl_ms', 'tpot_ms', 'latency_s')),
    mean          DOUBLE,
    std           DOUBLE,
    min           DOUBLE,
    p50           DOUBLE,
    p90           DOUBLE,
    p95           DOUBLE,
    p99           DOUBLE,
    max           DOUBLE,
    count         INTEGER,
    PRIMARY KEY (load_point_id, metric)
);

CREATE TABLE accuracy_results (
    run_id                 INTEGER NOT NULL,
    suite                  VARCHAR NOT NULL,
    task                   VARCHAR NOT NULL,
    metric                 VARCHAR NOT NULL,
    filter                 VARCHAR NOT NULL DEFAULT 'none',
    n_shot                 INTEGER CHECK (n_shot >= 0),
    run_index              INTEGER CHECK (run_index > 0),
    score                  DOUBLE  NOT NULL,
    score_unit             VARCHAR NOT NULL CHECK (score_unit IN ('pct', 'raw')),
    stderr                 DOUBLE CHECK (stderr >= 0),
    ci95_low_delta         DOUBLE,
    ci95_high_delta        DOUBLE,
    n_samples              INTEGER CHECK (n_samples >= 0),
    n_samples_effective    INTEGER CHECK (n_samples_effective >= 0),
    limited                BOOLEAN NOT NULL DEFAULT false,
    task_version           VARCHAR,
    published_recovery_pct DOUBLE
);

-- Price of `n` GPUs of type `g` in price list `pl`: the listed price where the count is listed,
-- else in proportion to the nearest listed count (nearest by ratio, ties to the larger node),
-- as the study priced A100 counts other than 8.
CREATE MACRO usd_per_hour_in(pl, g, n) AS (
    SELECT p.usd_per_hour * n / p.gpu_count
    FROM prices AS p
    WHERE p.price_list = pl AND p.gpu = g
    ORDER BY abs(ln(n / p.gpu_count)), p.gpu_count DESC
    LIMIT 1
);

CREATE MACRO default_price_list() AS (
    SELECT price_list FROM price_lists WHERE is_default ORDER BY as_of DESC LIMIT 1
);

CREATE MACRO usd_per_hour(g, n) AS usd_per_hour_in(default_price_list(), g, n);

CREATE VIEW source_labels AS
SELECT
    r.run_id,
    s.source_id,
    CASE WHEN s.kind = 'study' THEN 'study:' || r.label
         ELSE s.kind || ':' || s.name END AS source
FROM runs AS r
JOIN sources AS s USING (source_id);

CREATE VIEW sync_latency AS
SELECT
    r.model, r.format, r.gpu, r.gpu_count, m.use_case, m.prefill_tokens, m.decode_tokens,
    m.latency_s,
    coalesce(m.published_queries_per_usd,
             3600.0 / (m.latency_s * usd_per_hour(r.gpu, r.gpu_count))) AS queries_per_usd,
    l.source,
    coalesce(m.decode_flag = 'truncated', false) AS decode_truncated, m.decode_flag, r.method,
    m.published_cost_reduction, r.run_id, l.source_id
FROM sync_results AS m
JOIN runs AS r USING (run_id)
JOIN source_labels AS l USING (run_id)
UNION ALL
-- A GuideLLM synchronous benchmark is a synchronous latency measurement too.
-- Token counts: the nominal ones the report asked for, else the measured means.
SELECT
    r.model, r.format, r.gpu, r.gpu_count, r.use_case,
    coalesce(r.prefill_tokens, round(lp.prompt_tokens_mean)::INTEGER),
    coalesce(r.decode_tokens, round(lp.output_tokens_mean)::INTEGER),
    st.mean,
    3600.0 / (st.mean * usd_per_hour(r.gpu, r.gpu_count)),
    l.source,
    false, NULL, r.method, NULL, r.run_id, l.source_id
FROM benchmarks AS lp
JOIN latency_stats AS st ON st.load_point_id = lp.load_point_id AND st.metric = 'latency_s'
JOIN runs AS r ON r.run_id = lp.run_id
JOIN source_labels AS l ON l.run_id = r.run_id
WHERE lp.strategy = 'synchronous' AND r.gpu IS NOT NULL AND lp.successful > 0
  AND coalesce(r.prefill_tokens, lp.prompt_tokens_mean) IS NOT NULL
  AND coalesce(r.decode_tokens, lp.output_tokens_mean) IS NOT NULL;

CREATE VIEW async_throughput AS
SELECT
    r.model, r.format, r.gpu, r.gpu_count, m.use_case, m.prefill_tokens, m.decode_tokens,
    m.max_qps,
    coalesce(m.published_queries_per_usd,
             m.max_qps * 3600.0 / usd_per_hour(r.gpu, r.gpu_count)) AS queries_per_usd,
    m.ttft_limit_ms, m.itl_limit_ms,
    l.source,
    coalesce(m.decode_flag = 'truncated', false) AS decode_truncated, m.decode_flag, r.method,
    r.label AS block, m.published_speedup, r.run_id, l.source_id
FROM async_results AS m
JOIN runs AS r USING (run_id)
JOIN source_labels AS l USING (run_id);

CREATE VIEW accuracy AS
WITH scored AS (
    SELECT
        r.model, r.format, a.suite, a.task, a.metric, a.filter, a.n_shot, a.score, a.score_unit,
        a.run_index, a.stderr, a.ci95_low_delta, a.ci95_high_delta, a.limited,
        a.published_recovery_pct, r.method, r.run_id, r.source_id, l.source
    FROM accuracy_results AS a
    JOIN runs AS r USING (run_id)
    JOIN source_labels AS l USING (run_id)
),
baselines AS (
    -- The BF16 score of the same model, suite, task, metric, filter, n-shot and repetition,
    -- from the same table or file where it has one, else the same source, else the most
    -- recently imported.
    SELECT
        q.run_id, q.suite, q.task, q.metric, q.filter, q.n_shot, q.run_index,
        b.score AS baseline_score,
        row_number() OVER (
            PARTITION BY q.run_id, q.suite, q.task, q.metric, q.filter, q.n_shot, q.run_index
            ORDER BY (b.source = q.source) DESC, (b.source_id = q.source_id) DESC,
                     b.source_id DESC
        ) AS preference
    FROM scored AS q
    JOIN scored AS b
      ON b.format = 'bf16' AND b.model = q.model AND b.suite = q.suite AND b.task = q.task
     AND b.metric = q.metric AND b.filter = q.filter
     AND b.n_shot IS NOT DISTINCT FROM q.n_shot AND b.run_index IS NOT DISTINCT FROM q.run_index
)
SELECT
    s.model, s.format, s.suite, s.task, s.metric, s.n_shot, s.score, b.baseline_score,
    coalesce(s.published_recovery_pct,
             CASE WHEN b.baseline_score <> 0 THEN 100.0 * s.score / b.baseline_score END)
        AS recovery_pct,
    s.source,
    s.filter, s.method, s.run_index, s.stderr, s.ci95_low_delta, s.ci95_high_delta,
    s.score_unit, s.limited, s.run_id, s.source_id
FROM scored AS s
LEFT JOIN baselines AS b
  ON b.run_id = s.run_id AND b.suite = s.suite AND b.task = s.task AND b.metric = s.metric
 AND b.filter = s.filter AND b.n_shot IS NOT DISTINCT FROM s.n_shot
 AND b.run_index IS NOT DISTINCT FROM s.run_index AND b.preference = 1;

-- Per-GPU price: the single-GPU price where listed, else the smallest listed node's per-GPU price.
CREATE VIEW gpu_prices AS
SELECT
    g.*,
    (SELECT p.usd_per_hour / p.gpu_count
       FROM prices AS p
      WHERE p.gpu = g.gpu AND p.price_list = default_price_list()
      ORDER BY p.gpu_count LIMIT 1) AS usd_per_gpu_hour,
    (SELECT l.source FROM price_lists AS l WHERE l.price_list = default_price_list())
        AS default_price_source
FROM gpu_specs AS g;

CREATE VIEW gpus AS
SELECT
    gpu, memory_gib, mem_bw_gbps, bf16_tflops, fp8_tflops, int8_tops, usd_per_gpu_hour,
    CASE WHEN usd_per_gpu_hour IS NOT NULL THEN default_price_source END AS price_source,
    name, architecture, interconnect, interconnect_gbps, nodes_of, source AS spec_source
FROM gpu_prices;

CREATE VIEW models AS
SELECT
    model, hf_id, params_b, layers, hidden_size, heads, kv_heads, intermediate_size, vocab_size,
    head_dim, tied_embeddings, family, architecture, max_position_embeddings, origin
FROM model_specs;

CREATE VIEW load_points AS
SELECT
    r.model, r.format, r.gpu, r.gpu_count,
    coalesce(r.prefill_tokens, round(lp.prompt_tokens_mean)::INTEGER) AS prefill_tokens,
    coalesce(r.decode_tokens, round(lp.output_tokens_mean)::INTEGER) AS decode_tokens,
    lp.strategy, lp.target_rate, lp.achieved_rps, lp.concurrency,
    ttft.p50 AS ttft_p50_ms, ttft.p99 AS ttft_p99_ms,
    itl.p50 AS itl_p50_ms, itl.p99 AS itl_p99_ms,
    lat.p50 AS latency_p50_s, lat.p99 AS latency_p99_s,
    lp.output_tokens_per_s, lp.successful, lp.errored,
    l.source,
    lp.incomplete, lp.target_concurrency, lp.benchmark_index, r.use_case,
    ttft.mean AS ttft_mean_ms, ttft.p90 AS ttft_p90_ms, ttft.p95 AS ttft_p95_ms,
    itl.mean AS itl_mean_ms, itl.p90 AS itl_p90_ms, itl.p95 AS itl_p95_ms,
    tpot.mean AS tpot_mean_ms, tpot.p50 AS tpot_p50_ms, tpot.p99 AS tpot_p99_ms,
    lat.mean AS latency_mean_s, lat.p90 AS latency_p90_s, lat.p95 AS latency_p95_s,
    lp.prompt_tokens_mean, lp.output_tokens_mean, lp.duration_s,
    lp.load_point_id, r.run_id, l.source_id
FROM benchmarks AS lp
JOIN runs AS r USING (run_id)
JOIN source_labels AS l USING (run_id)
LEFT JOIN latency_stats AS ttft ON ttft.load_point_id = lp.load_point_id AND ttft.metric = 'ttft_ms'
LEFT JOIN latency_stats AS itl ON itl.load_point_id = lp.load_point_id AND itl.metric = 'itl_ms'
LEFT JOIN latency_stats AS tpot ON tpot.load_point_id = lp.load_point_id AND tpot.metric = 'tpot_ms'
LEFT JOIN latency_stats AS lat ON lat.load_point_id = lp.load_point_id AND lat.metric = 'latency_s';

CREATE VIEW price_points AS
SELECT
    p.price_list, p.gpu, p.gpu_count, p.usd_per_hour, p.usd_per_hour / p.gpu_count AS usd_per_gpu_hour,
    l.is_default, l.as_of, l.source
FROM prices AS p
JOIN price_lists AS l USING (price_list);
