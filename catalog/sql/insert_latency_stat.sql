INSERT INTO latency_stats (load_point_id, metric, mean, std, min, p50, p90, p95, p99, max, count)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
