INSERT INTO sync_results (run_id, use_case, prefill_tokens, decode_tokens, latency_s,
                          published_queries_per_usd, published_cost_reduction, decode_flag,
                          ttft_ms, itl_ms, decode_reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
