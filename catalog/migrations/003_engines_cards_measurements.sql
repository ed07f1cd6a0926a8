-- The engine as a dimension of every measurement, the model cards as a second kind of published
-- source, spreadsheet imports, synchronous rows that give TTFT/ITL without an end-to-end latency,
-- a reason beside every decode flag, and accuracy protocols.

-- DuckDB cannot alter a CHECK constraint: sources is rebuilt with the two new kinds. Views bind
-- by name at query time, so the ones over sources keep working once the new table has its name.
CREATE TABLE sources_003 (
    source_id    INTEGER PRIMARY KEY DEFAULT nextval('source_ids'),
    kind         VARCHAR   NOT NULL
                 CHECK (kind IN ('study', 'card', 'guidellm', 'lm-eval', 'profiler', 'measurements')),
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
INSERT INTO sources_003 SELECT * FROM sources;
DROP TABLE sources;
ALTER TABLE sources_003 RENAME TO sources;

-- Which server produced the numbers (vllm) and its version; NULL where nobody recorded it.
ALTER TABLE runs ADD COLUMN engine VARCHAR;
ALTER TABLE runs ADD COLUMN engine_version VARCHAR;

-- latency_s becomes optional (a published table may give TTFT and ITL only); a row still has to
-- hold at least one of the three.
CREATE TABLE sync_results_003 (
    run_id                    INTEGER NOT NULL,
    use_case                  VARCHAR REFERENCES use_cases (use_case),
    prefill_tokens            INTEGER NOT NULL CHECK (prefill_tokens > 0),
    decode_tokens             INTEGER NOT NULL CHECK (decode_tokens > 0),
    latency_s                 DOUBLE CHECK (latency_s > 0),
    published_queries_per_usd DOUBLE,
    published_cost_reduction  DOUBLE,
    -- 'truncated' / 'suspect': never fitted on; decode_reason says which rule fired and by how much
    -- (catalog/hygiene.py, data/README.md).
    decode_flag               VARCHAR CHECK (decode_flag IN ('truncated', 'suspect')),
    ttft_ms                   DOUBLE CHECK (ttft_ms > 0),
    itl_ms                    DOUBLE CHECK (itl_ms > 0),
    decode_reason             VARCHAR,
    CHECK (latency_s IS NOT NULL OR ttft_ms IS NOT NULL OR itl_ms IS NOT NULL),
    CHECK (decode_reason IS NULL OR decode_flag IS NOT NULL)
);
INSERT INTO sync_results_003 (run_id, use_case, prefill_tokens, decode_tokens, latency_s,
                              published_queries_per_usd, published_cost_reduction, decode_flag)
SELECT run_id, use_case, prefill_tokens, decode_tokens, latency_s, published_queries_per_usd,
       published_cost_reduction, decode_flag
FROM sync_results;
DROP TABLE sync_results;
ALTER TABLE sync_results_003 RENAME TO sync_results;

ALTER TABLE async_results ADD COLUMN decode_reason VARCHAR;

-- P1 (the study's protocol), P2, P3 (data/README.md); NULL: not stated.
ALTER TABLE accuracy_results ADD COLUMN protocol VARCHAR;

-- Published (baseline, quantized, recovery) triplets of models the catalog may not hold, so no
-- run (whose model must be a catalog model) can carry them. `model` is the catalog id where the
-- published base model is one, else its published name; they are evidence for recovery by family.
CREATE TABLE published_accuracy (
    source_id       INTEGER NOT NULL,
    model           VARCHAR NOT NULL,
    quantized_model VARCHAR NOT NULL,
    format          VARCHAR NOT NULL REFERENCES formats (format),
    format_detail   VARCHAR,
    suite           VARCHAR NOT NULL,
    task            VARCHAR NOT NULL,
    benchmark       VARCHAR NOT NULL,
    n_shot          INTEGER CHECK (n_shot >= 0),
    score           DOUBLE,
    baseline_score  DOUBLE,
    recovery_pct    DOUBLE,
    protocol        VARCHAR NOT NULL CHECK (protocol IN ('P1', 'P2', 'P3')),
    notes           VARCHAR,
    CHECK (score IS NOT NULL OR recovery_pct IS NOT NULL)
);

CREATE OR REPLACE VIEW source_labels AS
SELECT
    r.run_id,
    s.source_id,
    CASE WHEN s.kind = 'study' THEN 'study:' || r.label
         -- A card is named by its URL; a spreadsheet row by the source it cites, if it cites one.
         WHEN s.kind = 'card' THEN s.uri
         WHEN s.kind = 'measurements' THEN coalesce(r.label, 'measurements:' || s.name)
         ELSE s.kind || ':' || s.name END AS source
FROM runs AS r
JOIN sources AS s USING (source_id);

CREATE OR REPLACE VIEW sync_latency AS
SELECT
    r.model, r.format, r.gpu, r.gpu_count, m.use_case, m.prefill_tokens, m.decode_tokens,
    m.latency_s,
    coalesce(m.published_queries_per_usd,
             3600.0 / (m.latency_s * usd_per_hour(r.gpu, r.gpu_count))) AS queries_per_usd,
    l.source,
    coalesce(m.decode_flag = 'truncated', false) AS decode_truncated, m.decode_flag, r.method,
    m.published_cost_reduction, r.run_id, l.source_id,
    r.engine, r.engine_version, m.ttft_ms, m.itl_ms, m.decode_reason
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
    false, NULL, r.method, NULL, r.run_id, l.source_id,
    r.engine, r.engine_version, ttft.mean, itl.mean, NULL
FROM benchmarks AS lp
JOIN latency_stats AS st ON st.load_point_id = lp.load_point_id AND st.metric = 'latency_s'
JOIN runs AS r ON r.run_id = lp.run_id
JOIN source_labels AS l ON l.run_id = r.run_id
LEFT JOIN latency_stats AS ttft ON ttft.load_point_id = lp.load_point_id AND ttft.metric = 'ttft_ms'
LEFT JOIN latency_stats AS itl ON itl.load_point_id = lp.load_point_id AND itl.metric = 'itl_ms'
WHERE lp.strategy = 'synchronous' AND r.gpu IS NOT NULL AND lp.successful > 0
  AND coalesce(r.prefill_tokens, lp.prompt_tokens_mean) IS NOT NULL
  AND coalesce(r.decode_tokens, lp.output_tokens_mean) IS NOT NULL;

CREATE OR REPLACE VIEW async_throughput AS
SELECT
    r.model, r.format, r.gpu, r.gpu_count, m.use_case, m.prefill_tokens, m.decode_tokens,
    m.max_qps,
    coalesce(m.published_queries_per_usd,
             m.max_qps * 3600.0 / usd_per_hour(r.gpu, r.gpu_count)) AS queries_per_usd,
    m.ttft_limit_ms, m.itl_limit_ms,
    l.source,
    coalesce(m.decode_flag = 'truncated', false) AS decode_truncated, m.decode_flag, r.method,
    r.label AS block, m.published_speedup, r.run_id, l.source_id,
    r.engine, r.engine_version, m.decode_reason
FROM async_results AS m
JOIN runs AS r USING (run_id)
JOIN source_labels AS l USING (run_id);

CREATE OR REPLACE VIEW accuracy AS
WITH scored AS (
    SELECT
        r.model, r.format, a.suite, a.task, a.metric, a.filter, a.n_shot, a.score, a.score_unit,
        a.run_index, a.stderr, a.ci95_low_delta, a.ci95_high_delta, a.limited,
        a.published_recovery_pct, r.method, r.run_id, r.source_id, l.source, a.protocol
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
    s.score_unit, s.limited, s.run_id, s.source_id, s.protocol
FROM scored AS s
LEFT JOIN baselines AS b
  ON b.run_id = s.run_id AND b.suite = s.suite AND b.task = s.task AND b.metric = s.metric
 AND b.filter = s.filter AND b.n_shot IS NOT DISTINCT FROM s.n_shot
 AND b.run_index IS NOT DISTINCT FROM s.run_index AND b.preference = 1
UNION ALL
-- Published triplets: the recovery as printed (the cards' own inconsistencies are kept).
SELECT
    p.model, p.format, p.suite, p.task, 'score', p.n_shot, p.score, p.baseline_score,
    coalesce(p.recovery_pct,
             CASE WHEN p.baseline_score <> 0 THEN 100.0 * p.score / p.baseline_score END),
    s.uri,
    'none', NULL, NULL, NULL, NULL, NULL,
    'pct', false, NULL, p.source_id, p.protocol
FROM published_accuracy AS p
JOIN sources AS s USING (source_id);

CREATE OR REPLACE VIEW load_points AS
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
    lp.load_point_id, r.run_id, l.source_id,
    r.engine, r.engine_version
FROM benchmarks AS lp
JOIN runs AS r USING (run_id)
JOIN source_labels AS l USING (run_id)
LEFT JOIN latency_stats AS ttft ON ttft.load_point_id = lp.load_point_id AND ttft.metric = 'ttft_ms'
LEFT JOIN latency_stats AS itl ON itl.load_point_id = lp.load_point_id AND itl.metric = 'itl_ms'
LEFT JOIN latency_stats AS tpot ON tpot.load_point_id = lp.load_point_id AND tpot.metric = 'tpot_ms'
LEFT JOIN latency_stats AS lat ON lat.load_point_id = lp.load_point_id AND lat.metric = 'latency_s';
