-- The text-similarity rows of a catalog's imports (not of its embedded $seeded sources).
SELECT run_id, metric, score, prompts, baseline_format, embedding_model
FROM similarity_results
WHERE run_id IN (SELECT r.run_id FROM runs AS r JOIN sources AS s USING (source_id)
                 WHERE NOT list_contains($seeded, s.kind))
ORDER BY run_id
