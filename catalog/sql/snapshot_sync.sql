SELECT model, format, gpu, gpu_count, use_case, prefill_tokens, decode_tokens, latency_s,
       decode_flag, source
FROM sync_latency ORDER BY ALL
