SELECT model, format, gpu, gpu_count, use_case, prefill_tokens, decode_tokens, max_qps,
       ttft_limit_ms, itl_limit_ms, decode_flag, source, engine, engine_version, decode_reason
FROM async_throughput ORDER BY ALL
