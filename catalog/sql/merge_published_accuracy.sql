-- The published accuracy triplets of a catalog's imports (not of its embedded $seeded sources).
SELECT p.source_id, p.model, p.quantized_model, p.format, p.format_detail, p.suite, p.task,
       p.benchmark, p.n_shot, p.score, p.baseline_score, p.recovery_pct, p.protocol, p.notes
FROM published_accuracy AS p
JOIN sources AS s USING (source_id)
WHERE NOT list_contains($seeded, s.kind)
ORDER BY p.source_id
