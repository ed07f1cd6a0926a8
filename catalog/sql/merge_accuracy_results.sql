-- The accuracy rows of a catalog's imports (not of its embedded $seeded sources).
SELECT run_id, suite, task, metric, filter, n_shot, run_index, score, score_unit, stderr,
       ci95_low_delta, ci95_high_delta, n_samples, n_samples_effective, limited, task_version,
       published_recovery_pct, protocol
FROM accuracy_results
WHERE run_id IN (SELECT r.run_id FROM runs AS r JOIN sources AS s USING (source_id)
                 WHERE NOT list_contains($seeded, s.kind))
ORDER BY run_id
