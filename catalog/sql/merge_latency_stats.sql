-- The latency distributions of those sub-benchmarks, by the sub-benchmark's id.
SELECT st.load_point_id, st.metric, st.mean, st.std, st.min, st.p50, st.p90, st.p95, st.p99,
       st.max, st.count
FROM latency_stats AS st
JOIN benchmarks AS b USING (load_point_id)
WHERE b.run_id IN (SELECT r.run_id FROM runs AS r JOIN sources AS s USING (source_id)
                 WHERE NOT list_contains($seeded, s.kind))
ORDER BY st.load_point_id, st.metric
