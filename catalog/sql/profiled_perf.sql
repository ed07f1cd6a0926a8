SELECT count(*) FROM async_throughput
WHERE source LIKE 'profiler:rate-search%' AND model = $model AND format = $format AND gpu = $gpu
  AND gpu_count = $gpu_count AND prefill_tokens = $prefill AND decode_tokens = $decode
