-- Rows with an end-to-end latency; TTFT/ITL-only rows are in the sync_latency view.
SELECT model, format, gpu, gpu_count, use_case, prefill_tokens, decode_tokens, latency_s,
       decode_flag, source, engine, engine_version, ttft_ms, itl_ms, decode_reason
FROM sync_latency WHERE latency_s IS NOT NULL ORDER BY ALL
