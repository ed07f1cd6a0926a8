SELECT g.gpu, f.format, f.support, f.note
FROM gpu_specs AS g
JOIN format_support AS f ON f.vendor = g.vendor AND f.architecture = g.architecture
ORDER BY g.gpu, f.format
