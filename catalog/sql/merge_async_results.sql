-- The asynchronous rows of a catalog's imports (not of its embedded $seeded sources).
SELECT run_id, use_case, prefill_tokens, decode_tokens, max_qps, ttft_limit_ms, itl_limit_ms,
       published_queries_per_usd, published_speedup, decode_flag, decode_reason
FROM async_results
WHERE run_id IN (SELECT r.run_id FROM runs AS r JOIN sources AS s USING (source_id)
                 WHERE NOT list_contains($seeded, s.kind))
ORDER BY run_id
