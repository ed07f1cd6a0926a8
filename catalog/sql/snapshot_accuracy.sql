-- Scores in percent; AWQ rows and single runs are left to the tables that show them. Published
-- rows that print a recovery but no score stay in the accuracy view only. Published rows come
-- after measured ones, so where both give a cell, an order-preferring reader keeps the measured.
SELECT model, format, suite, task, metric, n_shot, score, baseline_score, recovery_pct,
       stderr, ci95_low_delta, ci95_high_delta, source, protocol
FROM accuracy
WHERE score_unit = 'pct' AND run_index IS NULL AND coalesce(method, '') <> 'awq'
  AND score IS NOT NULL
ORDER BY run_id IS NULL, model, format, suite, task, metric, n_shot, score, baseline_score,
         recovery_pct, stderr, ci95_low_delta, ci95_high_delta, source, protocol
