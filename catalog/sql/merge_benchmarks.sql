-- The GuideLLM sub-benchmarks of a catalog's imports (not of its embedded $seeded sources).
SELECT run_id, load_point_id, benchmark_index, strategy, target_rate, target_concurrency,
       achieved_rps, concurrency, prompt_tokens_mean, output_tokens_mean, output_tokens_per_s,
       successful, errored, incomplete, duration_s, started_at
FROM benchmarks
WHERE run_id IN (SELECT r.run_id FROM runs AS r JOIN sources AS s USING (source_id)
                 WHERE NOT list_contains($seeded, s.kind))
ORDER BY run_id, benchmark_index
