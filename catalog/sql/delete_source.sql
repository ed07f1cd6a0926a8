-- Every row a source contributed, children first (DuckDB foreign keys do not cascade).
DELETE FROM latency_stats WHERE load_point_id IN (
    SELECT load_point_id FROM benchmarks WHERE run_id IN (SELECT run_id FROM runs WHERE source_id = $source_id));
DELETE FROM benchmarks WHERE run_id IN (SELECT run_id FROM runs WHERE source_id = $source_id);
DELETE FROM sync_results WHERE run_id IN (SELECT run_id FROM runs WHERE source_id = $source_id);
DELETE FROM async_results WHERE run_id IN (SELECT run_id FROM runs WHERE source_id = $source_id);
DELETE FROM accuracy_results WHERE run_id IN (SELECT run_id FROM runs WHERE source_id = $source_id);
DELETE FROM similarity_results WHERE run_id IN (SELECT run_id FROM runs WHERE source_id = $source_id);
DELETE FROM runs WHERE source_id = $source_id;
DELETE FROM published_accuracy WHERE source_id = $source_id;
DELETE FROM sources WHERE source_id = $source_id;
