-- Every GuideLLM sub-benchmark the advisor can attribute to a configuration (a run without a
-- GPU says nothing about one), in a fixed order so that the snapshot's digest is stable.
SELECT model, format, gpu, gpu_count, prefill_tokens, decode_tokens, use_case, strategy,
       target_rate, target_concurrency, achieved_rps, concurrency, duration_s,
       ttft_mean_ms, ttft_p50_ms, ttft_p90_ms, ttft_p95_ms, ttft_p99_ms,
       itl_mean_ms, itl_p50_ms, itl_p90_ms, itl_p95_ms, itl_p99_ms,
       latency_mean_s, latency_p50_s, latency_p90_s, latency_p95_s, latency_p99_s,
       successful, errored, incomplete, source, run_id, benchmark_index, engine, engine_version
FROM load_points
WHERE gpu IS NOT NULL AND gpu_count IS NOT NULL
ORDER BY model, format, gpu, gpu_count, prefill_tokens, decode_tokens, source, run_id,
         benchmark_index
