SELECT price_list, gpu, gpu_count, usd_per_hour, provider, sku, basis, fallback FROM prices
ORDER BY price_list, gpu, gpu_count
