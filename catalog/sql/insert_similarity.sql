INSERT INTO similarity_results (run_id, metric, score, prompts, baseline_format, embedding_model)
VALUES (?, ?, ?, ?, ?, ?)
