-- A catalog's use case definitions.
SELECT use_case, name, kind, prefill_tokens, decode_tokens, ttft_limit_ms, itl_limit_ms
FROM use_cases
ORDER BY use_case
