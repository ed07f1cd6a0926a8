SELECT model, format, count(*) AS scores, count(DISTINCT suite) AS suites
FROM accuracy
WHERE $model IS NULL OR model = $model
GROUP BY ALL
ORDER BY model, format
