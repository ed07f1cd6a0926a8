-- Every task of the set has lm-eval scores for this model and format.
SELECT count(DISTINCT task) = len($tasks) FROM accuracy
WHERE source LIKE 'lm-eval:%' AND model = $model AND format = $format
  AND list_contains($tasks, task)
