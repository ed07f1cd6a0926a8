-- Every synchronous cell the fit can use: the end-to-end latency, or where only TTFT and ITL
-- were measured, the latency they imply (TTFT + (D - 1) x ITL, no per-request term).
SELECT model, format, gpu, gpu_count, use_case, prefill_tokens, decode_tokens,
       coalesce(latency_s, ttft_ms / 1000 + (decode_tokens - 1) * itl_ms / 1000) AS latency_s,
       decode_flag, source, engine, engine_version, ttft_ms, itl_ms, decode_reason
FROM sync_latency
WHERE latency_s IS NOT NULL OR (ttft_ms IS NOT NULL AND itl_ms IS NOT NULL)
ORDER BY ALL
