-- How closely a quantized model's greedy answers follow its BF16 baseline's (profiler).
CREATE TABLE similarity_results (
    run_id          INTEGER NOT NULL,
    metric          VARCHAR NOT NULL CHECK (metric IN ('rouge1_f', 'rougeL_f', 'embedding_cosine')),
    score           DOUBLE  NOT NULL CHECK (score >= -1 AND score <= 1),
    prompts         INTEGER NOT NULL CHECK (prompts > 0),
    baseline_format VARCHAR NOT NULL,
    embedding_model VARCHAR
);

CREATE VIEW text_similarity AS
SELECT r.model, r.format, t.baseline_format, t.metric, t.score, t.prompts, t.embedding_model,
       l.source, r.run_id, l.source_id
FROM similarity_results AS t
JOIN runs AS r USING (run_id)
JOIN source_labels AS l USING (run_id);
