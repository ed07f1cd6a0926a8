-- Token counts of every use case, for the profiler's workloads.
SELECT use_case, prefill_tokens, decode_tokens FROM use_cases
