-- The synchronous rows of a catalog's imports (not of its embedded $seeded sources).
SELECT run_id, use_case, prefill_tokens, decode_tokens, latency_s, published_queries_per_usd,
       published_cost_reduction, decode_flag, ttft_ms, itl_ms, decode_reason
FROM sync_results
WHERE run_id IN (SELECT r.run_id FROM runs AS r JOIN sources AS s USING (source_id)
                 WHERE NOT list_contains($seeded, s.kind))
ORDER BY run_id
