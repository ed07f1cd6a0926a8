-- A catalog's model definitions, from the public view (an export holds the view, not the table).
SELECT model, hf_id, family, architecture, params_b, layers, hidden_size, heads, kv_heads,
       head_dim, intermediate_size, vocab_size, tied_embeddings, attention_bias,
       max_position_embeddings, active_params_b, experts, latent_attention, sliding_window,
       sliding_layers, quantized
FROM models
ORDER BY model
