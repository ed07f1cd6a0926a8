-- Measured cells per model, format, GPU and GPU count, by kind of measurement.
WITH cells AS (
    SELECT model, format, gpu, gpu_count, 'sync' AS kind FROM sync_latency
    UNION ALL SELECT model, format, gpu, gpu_count, 'async' FROM async_throughput
    UNION ALL SELECT model, format, gpu, gpu_count, 'load_points' FROM load_points
)
SELECT model, format, gpu, gpu_count,
       count(*) FILTER (WHERE kind = 'sync') AS sync_cells,
       count(*) FILTER (WHERE kind = 'async') AS async_cells,
       count(*) FILTER (WHERE kind = 'load_points') AS load_points
FROM cells
WHERE $model IS NULL OR model = $model
GROUP BY ALL
ORDER BY model, format, gpu, gpu_count
