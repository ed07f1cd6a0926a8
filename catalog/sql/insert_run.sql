INSERT INTO runs (source_id, label, model, format, method, gpu, gpu_count, use_case,
                  prefill_tokens, decode_tokens, started_at, args, engine, engine_version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING run_id
