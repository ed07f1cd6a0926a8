"""Model architecture read from a Hugging Face `config.json`: dense decoders, mixtures of experts,
latent attention and sliding windows, as transformers and vLLM read each family's fields."""

from __future__ import annotations

from typing import Any

from advisor.errors import InvalidInputError
from advisor.structure import Architecture, Experts, LatentAttention, parameter_counts
from advisor.vocabulary import Format

__all__ = [
    "DENSE_DECODER_TYPES",
    "MOE_DECODER_TYPES",
    "TIED_BY_DEFAULT",
    "Architecture",
    "architecture_from_config",
    "quantized_format",
]

# Dense decoder-only families whose config.json uses the Llama field names (ChatGLM its own).
DENSE_DECODER_TYPES = frozenset(
    {
        "llama",
        "mistral",
        "ministral",
        "ministral3",
        "qwen2",
        "qwen3",
        "granite",
        "gemma",
        "gemma2",
        "gemma3_text",
        "phi3",
        "olmo2",
        "cohere",
        "cohere2",
        "glm4",
        "chatglm",
    }
)
# Mixture-of-experts families (Llama 4's text model is `llama4_text` inside a `llama4` config).
MOE_DECODER_TYPES = frozenset(
    {"mixtral", "qwen2_moe", "qwen3_moe", "deepseek_v2", "deepseek_v3", "gpt_oss", "llama4_text"}
)
ACCEPTED = sorted(DENSE_DECODER_TYPES | MOE_DECODER_TYPES | {"llama4"})
# transformers' default of `tie_word_embeddings` for the families whose config class ties the
# output head to the input embedding when config.json leaves the field out.
TIED_BY_DEFAULT = frozenset({"gemma", "gemma2", "gemma3_text", "cohere", "cohere2"})
# Families whose q/k/v projections carry biases unless the config says otherwise.
QKV_BIAS_BY_DEFAULT = frozenset({"qwen2", "qwen2_moe"})
# RMSNorms per block: Gemma 2/3 and GLM-4 norm after attention and MLP too; Cohere runs
# attention and MLP in parallel off one LayerNorm.
NORMS_PER_LAYER = {"gemma2": 4, "gemma3_text": 4, "glm4": 4, "cohere": 1, "cohere2": 1}
# Families that norm each query and key head (a weight of head_dim each).
QK_NORM = frozenset({"qwen3", "qwen3_moe", "gemma3_text"})
# ChatGLM's own names for the Llama fields.
CHATGLM_FIELDS = {
    "num_layers": "num_hidden_layers",
    "ffn_hidden_size": "intermediate_size",
    "padded_vocab_size": "vocab_size",
    "kv_channels": "head_dim",
    "multi_query_group_num": "num_key_value_heads",
    "seq_length": "max_position_embeddings",
    "add_qkv_bias": "attention_bias",
}
CAUSAL_CLASSES = ("ForCausalLM", "ChatGLMModel")


def _require_int(config: dict[str, Any], key: str, where: str) -> int:
    value = config.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidInputError(f"{where}: field {key!r} must be a positive integer, got {value!r}")
    return value


def _optional_int(config: dict[str, Any], key: str, where: str, default: int = 0) -> int:
    value = config.get(key)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInputError(
            f"{where}: field {key!r} must be a non-negative integer, got {value!r}"
        )
    return value


def quantized_format(config: dict[str, Any], where: str = "config.json") -> Format | None:
    """The format an already-quantized checkpoint is in, from its `quantization_config`
    (None: not quantized). compressed-tensors FP8 / INT8 W8A8 / INT4 W4A16, GPTQ and AWQ at 4
    bits, FP8, bitsandbytes 4-bit and MXFP4 (4-bit weights, BF16 activations: both modelled as
    W4A16); anything else is refused, naming what it found."""
    quant = config.get("quantization_config")
    if not quant:
        return None
    if not isinstance(quant, dict):
        raise InvalidInputError(f"{where}: quantization_config must be an object")
    method = str(quant.get("quant_method", "")).lower()
    found = f"{where}: quantization_config ({method or 'no quant_method'}"
    if method == "compressed-tensors":
        groups = quant.get("config_groups") or {}
        group: dict[str, Any] = next(iter(groups.values()), {}) if isinstance(groups, dict) else {}
        weights = group.get("weights") or {}
        activations = group.get("input_activations")
        bits, kind = weights.get("num_bits"), weights.get("type")
        if bits == 8 and kind == "float":
            return Format.FP8
        if bits == 8 and kind == "int" and activations:
            return Format.INT8
        if bits == 4 and kind == "int" and not activations:
            return Format.INT4
        found += (
            f", weights {kind} {bits} bits, activations {'quantized' if activations else 'not'}"
        )
    elif method in ("gptq", "awq") and quant.get("bits", quant.get("w_bit")) == 4:
        return Format.INT4
    elif method == "fp8":
        return Format.FP8
    elif (method == "bitsandbytes" and quant.get("load_in_4bit")) or method == "mxfp4":
        return Format.INT4
    raise InvalidInputError(
        found + ") is not a format the advisor models; accepted: compressed-tensors FP8, "
        "INT8 W8A8 or INT4 W4A16, GPTQ or AWQ 4-bit, FP8, bitsandbytes 4-bit, MXFP4"
    )


def _language_model(config: dict[str, Any]) -> dict[str, Any]:
    """A multimodal checkpoint (Gemma 3, Llama 4, Ministral 3: `*ForConditionalGeneration`
    with a nested `text_config`) read as its language model: the decoder is what serving costs.
    The outer config's tie and quantization hold for it unless it says otherwise."""
    text = config.get("text_config")
    if not isinstance(text, dict) or config.get("hidden_size"):
        return config
    classes = [str(c) for c in config.get("architectures") or []]
    if not any(c.endswith("ForConditionalGeneration") for c in classes):
        return config
    outer = {k: config[k] for k in ("tie_word_embeddings", "quantization_config") if k in config}
    return {
        **outer,
        **text,
        "architectures": [c.replace("ForConditionalGeneration", "ForCausalLM") for c in classes],
    }


def _experts(config: dict[str, Any], family: str, layers: int, where: str) -> Experts | None:
    """Routed and shared experts and the layers that hold them, in each family's own names."""
    if family not in MOE_DECODER_TYPES:
        return None
    routed_key = {"qwen2_moe": "num_experts", "qwen3_moe": "num_experts"}.get(
        family, "n_routed_experts" if family.startswith("deepseek") else "num_local_experts"
    )
    routed = _require_int(config, routed_key, where)
    per_token_key = "num_experts_per_tok"
    if family == "gpt_oss" and per_token_key not in config:
        per_token_key = "experts_per_token"
    per_token = _require_int(config, per_token_key, where)
    width_key = "intermediate_size" if family in ("mixtral", "gpt_oss", "llama4_text") else None
    width = _require_int(config, width_key or "moe_intermediate_size", where)
    shared = 0
    if family == "qwen2_moe":
        shared = _optional_int(config, "shared_expert_intermediate_size", where)
    elif family.startswith("deepseek"):
        shared = _optional_int(config, "n_shared_experts", where) * width
    elif family == "llama4_text":
        shared = width
    if family in ("qwen2_moe", "qwen3_moe"):
        step = _optional_int(config, "decoder_sparse_step", where, 1) or 1
        dense = set(config.get("mlp_only_layers") or [])
        moe = [i for i in range(layers) if i not in dense and (i + 1) % step == 0]
    elif family.startswith("deepseek"):
        first = _optional_int(config, "first_k_dense_replace", where)
        freq = _optional_int(config, "moe_layer_freq", where, 1) or 1
        moe = [i for i in range(first, layers) if i % freq == 0]
    elif family == "llama4_text":
        step = _optional_int(config, "interleave_moe_layer_step", where, 1) or 1
        listed = config.get("moe_layers")
        moe = list(listed) if isinstance(listed, list) else list(range(step - 1, layers, step))
    else:
        moe = list(range(layers))
    if per_token > routed or not moe:
        raise InvalidInputError(
            f"{where}: {per_token} experts per token of {routed}, in {len(moe)} MoE layers, "
            "is not a mixture of experts"
        )
    return Experts(
        routed=routed,
        per_token=per_token,
        layers=len(moe),
        intermediate_size=width,
        shared_intermediate_size=shared,
    )


def _latent(config: dict[str, Any], family: str, where: str) -> LatentAttention | None:
    if not family.startswith("deepseek") or not config.get("kv_lora_rank"):
        return None
    return LatentAttention(
        kv_lora_rank=_require_int(config, "kv_lora_rank", where),
        q_lora_rank=_optional_int(config, "q_lora_rank", where),
        qk_rope_head_dim=_require_int(config, "qk_rope_head_dim", where),
        v_head_dim=_require_int(config, "v_head_dim", where),
    )


def _windows(config: dict[str, Any], family: str, layers: int) -> tuple[int | None, int]:
    """(window, layers that attend within it): the sliding-window layers of Gemma 2/3,
    Cohere 2, gpt-oss, Mistral and Phi-3, and Llama 4's chunked-attention layers (a chunk
    holds at most `attention_chunk_size` tokens)."""
    types = config.get("layer_types")
    window = config.get("sliding_window")
    if family == "llama4_text":
        window = config.get("attention_chunk_size")
    if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
        return None, 0
    longest = config.get("max_position_embeddings")
    if isinstance(longest, int) and window >= longest:
        return None, 0  # a window as long as the context changes nothing (Phi-4-mini's)
    if isinstance(types, list) and types:
        local = sum(1 for t in types[:layers] if t in ("sliding_attention", "chunked_attention"))
    elif family == "gemma2":  # even layers slide (transformers' Gemma2DecoderLayer)
        local = (layers + 1) // 2
    elif family in ("gemma3_text", "cohere2"):
        pattern = config.get("sliding_window_pattern") or (6 if family == "gemma3_text" else 4)
        local = sum(1 for i in range(layers) if (i + 1) % int(pattern) != 0)
    elif family == "llama4_text":
        # Layers with rotary embeddings attend within their chunk; every fourth is global.
        rope = config.get("no_rope_layers")
        local = sum(map(bool, rope)) if isinstance(rope, list) else layers - layers // 4
    elif family in ("qwen2", "qwen3", "qwen2_moe", "qwen3_moe"):
        # Qwen slides only when asked to, and then from layer max_window_layers on.
        full = config.get("max_window_layers", layers)
        local = max(layers - int(full), 0) if config.get("use_sliding_window") else 0
    elif family in ("mistral", "mixtral", "ministral", "phi3", "gpt_oss"):
        local = layers
    else:
        local = 0
    return (window, local) if local else (None, 0)


def _extras(config: dict[str, Any], family: str, fields: dict[str, Any]) -> dict[str, int]:
    """Parameters outside the linear layers and embeddings, for the parameter count: norms,
    biases, attention sinks and shared-expert gates (per layer, per routed expert, once)."""
    h, heads, kv = fields["hidden_size"], fields["heads"], fields["kv_heads"]
    head_dim = fields["head_dim"]
    per_layer = NORMS_PER_LAYER.get(family, 2) * h
    if fields["attention_bias"]:
        per_layer += (heads + 2 * kv) * head_dim
    if family in QK_NORM or (family == "cohere" and config.get("use_qk_norm")):
        per_layer += 2 * head_dim if family != "cohere" else (heads + kv) * head_dim
    elif family == "olmo2":
        per_layer += (heads + kv) * head_dim
    per_expert = 0
    latent = fields["latent_attention"]
    if latent is not None:
        per_layer += latent.kv_lora_rank + latent.q_lora_rank  # the latents' norms
    experts = fields["experts"]
    if family == "gpt_oss":
        # Biased o_proj, one attention sink per head, a biased router, biased experts.
        per_layer += h + heads + (experts.routed if experts else 0)
        per_expert = 3 * experts.intermediate_size if experts else 0
    once = h  # the final norm
    if family == "qwen2_moe" and experts and experts.shared_intermediate_size:
        once += experts.layers * h  # the shared expert's sigmoid gate
    return {"per_layer": per_layer, "per_expert": per_expert, "once": once}


def architecture_from_config(config: dict[str, Any], where: str = "config.json") -> Architecture:
    """Read a decoder's architecture from a parsed config.json; refuse anything else, naming
    the model_type and the accepted ones."""
    config = _language_model(config)
    if config.get("is_encoder_decoder"):
        raise InvalidInputError(
            f"{where}: an encoder-decoder model is not a decoder-only transformer"
        )
    classes = config.get("architectures") or []
    model_type = str(config.get("model_type", ""))
    if model_type == "chatglm":
        config = {CHATGLM_FIELDS.get(k, k): v for k, v in config.items()}
        if not config.get("multi_query_attention"):
            config.pop("num_key_value_heads", None)
    if not any(str(name).endswith(CAUSAL_CLASSES) for name in classes):
        raise InvalidInputError(
            f"{where}: architectures {classes!r} has no *ForCausalLM class; "
            "only decoder-only causal language models are accepted"
        )
    if model_type == "llama4":
        model_type = "llama4_text"
    if model_type not in DENSE_DECODER_TYPES | MOE_DECODER_TYPES:
        raise InvalidInputError(
            f"{where}: model_type {model_type!r} is not supported; accepted: " + ", ".join(ACCEPTED)
        )
    hidden = _require_int(config, "hidden_size", where)
    heads = _require_int(config, "num_attention_heads", where)
    layers = _require_int(config, "num_hidden_layers", where)
    if model_type in DENSE_DECODER_TYPES and any(
        config.get(k) for k in ("num_local_experts", "num_experts", "n_routed_experts")
    ):
        raise InvalidInputError(
            f"{where}: model_type {model_type!r} has no experts in transformers, yet the config "
            "lists some; mixture-of-experts types accepted: " + ", ".join(sorted(MOE_DECODER_TYPES))
        )
    latent = _latent(config, model_type, where)
    head_dim = config.get("head_dim") or hidden // heads
    if latent is not None:
        head_dim = _require_int(config, "qk_nope_head_dim", where) + latent.qk_rope_head_dim
    dense_width = "intermediate_size_mlp" if model_type == "llama4_text" else "intermediate_size"
    window, sliding = _windows(config, model_type, layers)
    fields: dict[str, Any] = {
        "layers": layers,
        "hidden_size": hidden,
        "heads": heads,
        "kv_heads": int(config.get("num_key_value_heads") or heads),
        "head_dim": int(head_dim),
        "intermediate_size": _require_int(config, dense_width, where),
        "vocab_size": _require_int(config, "vocab_size", where),
        "tied_embeddings": bool(config.get("tie_word_embeddings", model_type in TIED_BY_DEFAULT)),
        "attention_bias": bool(config.get("attention_bias", model_type in QKV_BIAS_BY_DEFAULT)),
        "experts": _experts(config, model_type, layers, where),
        "latent_attention": latent,
        "sliding_window": window,
        "sliding_layers": sliding,
    }
    extras = _extras(config, model_type, fields)
    shape = {
        "architecture": str(classes[0]),
        "family": model_type,
        "max_position_embeddings": config.get("max_position_embeddings"),
        **fields,
    }
    total, active = parameter_counts(Architecture.model_construct(**shape), **extras)
    return Architecture(
        params_b=round(total / 1e9, 4),
        active_params_b=round(active / 1e9, 4) if fields["experts"] else None,
        **shape,
    )
