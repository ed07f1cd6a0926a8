INSERT INTO published_accuracy (source_id, model, quantized_model, format, format_detail, suite,
                                task, benchmark, n_shot, score, baseline_score, recovery_pct,
                                protocol, notes)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
