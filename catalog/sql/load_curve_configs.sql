SELECT model, format, gpu, gpu_count, count(*) AS points, any_value(use_case) AS use_case
FROM load_points
WHERE gpu IS NOT NULL
GROUP BY model, format, gpu, gpu_count
ORDER BY ALL
