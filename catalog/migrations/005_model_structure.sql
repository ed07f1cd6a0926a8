-- model_specs holds the whole architecture the advisor reads from a config.json: mixtures of
-- experts, DeepSeek's latent attention and sliding windows besides the dense decoder's fields,
-- so a catalog model is read back as its config describes it (advisor/structure.py names each
-- field). The two parts are structs with the fields of `Experts` and `LatentAttention`, NULL for
-- a model without them: one column each keeps the views plain (`experts.routed`). Existing rows
-- are dense full-attention decoders: NULL parts, no sliding layers. DuckDB cannot add a column
-- with a CHECK or NOT NULL to a referenced table: the Architecture validates them before writing.
-- `quantized` is the format (formats.format) of an already-quantized checkpoint (its
-- `quantization_config`), served as it is and never quantized again; NULL: a base model.
ALTER TABLE model_specs ADD COLUMN active_params_b DOUBLE;
ALTER TABLE model_specs ADD COLUMN experts STRUCT(
    routed                   INTEGER,
    per_token                INTEGER,
    layers                   INTEGER,
    intermediate_size        INTEGER,
    shared_intermediate_size INTEGER
);
ALTER TABLE model_specs ADD COLUMN latent_attention STRUCT(
    kv_lora_rank     INTEGER,
    q_lora_rank      INTEGER,
    qk_rope_head_dim INTEGER,
    v_head_dim       INTEGER
);
ALTER TABLE model_specs ADD COLUMN sliding_window INTEGER;
ALTER TABLE model_specs ADD COLUMN sliding_layers INTEGER DEFAULT 0;
ALTER TABLE model_specs ADD COLUMN quantized VARCHAR;

CREATE OR REPLACE VIEW models AS
SELECT
    model, hf_id, params_b, layers, hidden_size, heads, kv_heads, intermediate_size, vocab_size,
    head_dim, tied_embeddings, family, architecture, max_position_embeddings, origin,
    attention_bias, active_params_b, experts, latent_attention, sliding_window, sliding_layers,
    quantized
FROM model_specs;
