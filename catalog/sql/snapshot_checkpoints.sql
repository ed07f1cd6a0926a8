-- Published checkpoints of the catalog's models: the hub ids among their aliases other than the
-- model's own, as data/aliases.csv spells them (the cards' quantized checkpoints and the study's
-- Llama-3.1 repos). The advisor reads each one's format from its name and serves it as is.
SELECT a.canonical AS model, m.hf_id AS base_hf_id, a.alias AS checkpoint
FROM aliases AS a
JOIN model_specs AS m ON m.model = a.canonical
WHERE a.kind = 'model' AND a.alias LIKE '%/%'
  AND lower(a.alias) <> lower(coalesce(m.hf_id, ''))
ORDER BY model, checkpoint
