-- Every accepted spelling of a model, GPU or use case, lower-case, with the id it stands for.
SELECT 'model' AS kind, lower(model) AS alias, model AS canonical FROM model_specs
UNION ALL SELECT 'model', lower(hf_id), model FROM model_specs WHERE hf_id IS NOT NULL
UNION ALL SELECT 'gpu', lower(gpu), gpu FROM gpu_specs
UNION ALL SELECT 'use_case', lower(use_case), use_case FROM use_cases
UNION ALL SELECT 'use_case', lower(name), use_case FROM use_cases
UNION ALL SELECT kind, lower(alias), canonical FROM aliases
