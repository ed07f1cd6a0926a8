SELECT gpu, gpu_count, usd_per_hour FROM prices
WHERE price_list = coalesce($price_list, default_price_list())
ORDER BY gpu, gpu_count
