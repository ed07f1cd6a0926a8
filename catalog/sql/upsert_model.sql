INSERT INTO model_specs (model, hf_id, family, architecture, params_b, layers, hidden_size, heads,
                         kv_heads, head_dim, intermediate_size, vocab_size, tied_embeddings,
                         attention_bias, max_position_embeddings, active_params_b, experts,
                         latent_attention, sliding_window, sliding_layers, quantized, origin,
                         source)
VALUES ($model, $hf_id, $family, $architecture, $params_b, $layers, $hidden_size, $heads,
        $kv_heads, $head_dim, $intermediate_size, $vocab_size, $tied_embeddings, $attention_bias,
        $max_position_embeddings, $active_params_b, $experts, $latent_attention, $sliding_window,
        $sliding_layers, $quantized, 'user', $source)
ON CONFLICT (model) DO UPDATE SET
    hf_id = excluded.hf_id, family = excluded.family, architecture = excluded.architecture,
    params_b = excluded.params_b, layers = excluded.layers, hidden_size = excluded.hidden_size,
    heads = excluded.heads, kv_heads = excluded.kv_heads, head_dim = excluded.head_dim,
    intermediate_size = excluded.intermediate_size, vocab_size = excluded.vocab_size,
    tied_embeddings = excluded.tied_embeddings, attention_bias = excluded.attention_bias,
    max_position_embeddings = excluded.max_position_embeddings,
    active_params_b = excluded.active_params_b, experts = excluded.experts,
    latent_attention = excluded.latent_attention, sliding_window = excluded.sliding_window,
    sliding_layers = excluded.sliding_layers, quantized = excluded.quantized,
    source = excluded.source
