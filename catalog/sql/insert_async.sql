INSERT INTO async_results (run_id, use_case, prefill_tokens, decode_tokens, max_qps, ttft_limit_ms,
                           itl_limit_ms, published_queries_per_usd, published_speedup,
                           decode_flag, decode_reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
