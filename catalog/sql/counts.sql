SELECT 'models' AS what, count(*) AS n FROM model_specs
UNION ALL SELECT 'gpus', count(*) FROM gpu_specs
UNION ALL SELECT 'use cases', count(*) FROM use_cases
UNION ALL SELECT 'price lists', count(*) FROM price_lists
UNION ALL SELECT 'sources', count(*) FROM sources
UNION ALL SELECT 'runs', count(*) FROM runs
UNION ALL SELECT 'sync_latency rows', count(*) FROM sync_latency
UNION ALL SELECT 'async_throughput rows', count(*) FROM async_throughput
UNION ALL SELECT 'load_points rows', count(*) FROM load_points
UNION ALL SELECT 'accuracy rows', count(*) FROM accuracy
