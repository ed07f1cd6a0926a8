INSERT INTO accuracy_results (run_id, suite, task, metric, filter, n_shot, run_index, score,
                              score_unit, stderr, ci95_low_delta, ci95_high_delta, n_samples,
                              n_samples_effective, limited, task_version, published_recovery_pct,
                              protocol)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
