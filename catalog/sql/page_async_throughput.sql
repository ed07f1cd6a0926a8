-- One page of the async_throughput view, filtered; total = rows matching before paging.
SELECT *, count(*) OVER () AS total
FROM async_throughput
WHERE ($model IS NULL OR model = $model)
  AND ($format IS NULL OR format = $format)
  AND ($gpu IS NULL OR gpu = $gpu)
  AND ($use_case IS NULL OR use_case = $use_case)
ORDER BY ALL
LIMIT $limit OFFSET $offset
