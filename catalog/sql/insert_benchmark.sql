INSERT INTO benchmarks (run_id, benchmark_index, strategy, target_rate, target_concurrency,
                        achieved_rps, concurrency, prompt_tokens_mean, output_tokens_mean,
                        output_tokens_per_s, successful, errored, incomplete, duration_s, started_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING load_point_id
