-- One page of the accuracy view, filtered; total = rows matching before paging.
SELECT *, count(*) OVER () AS total
FROM accuracy
WHERE ($model IS NULL OR model = $model)
  AND ($format IS NULL OR format = $format)
  AND ($gpu IS NULL OR true)
  AND ($use_case IS NULL OR true)
ORDER BY ALL
LIMIT $limit OFFSET $offset
