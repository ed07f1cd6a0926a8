-- Scores in percent; AWQ rows and single runs are left to the tables that show them.
SELECT model, format, suite, task, metric, n_shot, score, baseline_score, recovery_pct,
       stderr, ci95_low_delta, ci95_high_delta, source
FROM accuracy
WHERE score_unit = 'pct' AND run_index IS NULL AND coalesce(method, '') <> 'awq'
ORDER BY ALL
