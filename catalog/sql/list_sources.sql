-- Every source (or the one $source_id names) with what it contributed, counted as an import
-- counts it: runs, and rows of measurements (load points, not their latency distributions).
-- The $seeded kinds come with the catalog and cannot be removed.
WITH contributed AS (
    SELECT run_id FROM sync_results
    UNION ALL SELECT run_id FROM async_results
    UNION ALL SELECT run_id FROM benchmarks
    UNION ALL SELECT run_id FROM accuracy_results
    UNION ALL SELECT run_id FROM similarity_results
),
per_source AS (
    SELECT r.source_id, count(DISTINCT r.run_id) AS runs, count(c.run_id) AS n
    FROM runs AS r LEFT JOIN contributed AS c USING (run_id)
    GROUP BY r.source_id
),
published AS (
    SELECT source_id, count(*) AS n FROM published_accuracy GROUP BY source_id
)
SELECT
    s.source_id AS id, s.kind, s.name, s.uri AS file, s.sha256, s.tool, s.imported_at,
    coalesce(p.runs, 0)::INTEGER AS runs,
    (coalesce(p.n, 0) + coalesce(pub.n, 0))::INTEGER AS rows,
    NOT list_contains($seeded, s.kind) AS removable
FROM sources AS s
LEFT JOIN per_source AS p USING (source_id)
LEFT JOIN published AS pub USING (source_id)
WHERE $source_id IS NULL OR s.source_id = $source_id
ORDER BY s.source_id
