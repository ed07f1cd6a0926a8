-- The runs of a catalog's imports: every source but the embedded ($seeded) kinds.
SELECT r.run_id, r.source_id, r.label, r.model, r.format, r.method, r.gpu, r.gpu_count,
       r.use_case, r.prefill_tokens, r.decode_tokens, r.started_at, r.engine, r.engine_version,
       r.args
FROM runs AS r
JOIN sources AS s USING (source_id)
WHERE NOT list_contains($seeded, s.kind)
ORDER BY r.run_id
