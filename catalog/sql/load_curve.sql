SELECT benchmark_index, strategy, achieved_rps, ttft_p99_ms, itl_p99_ms, use_case, source
FROM load_points
WHERE model = $model AND format = $format AND gpu = $gpu AND gpu_count = $gpu_count
ORDER BY achieved_rps
