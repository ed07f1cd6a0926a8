"""Model architecture: the fields the cost models need, read from a Hugging Face `config.json`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from advisor.errors import InvalidInputError
from advisor.vocabulary import Format, Frozen

# Dense decoder-only families whose config.json uses the Llama field names.
DENSE_DECODER_TYPES = frozenset(
    {
        "llama",
        "mistral",
        "ministral",
        "qwen2",
        "qwen3",
        "granite",
        "gemma",
        "gemma2",
        "gemma3_text",
        "phi3",
        "olmo2",
        "cohere",
    }
)
MOE_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_intermediate_size")
# transformers' default of `tie_word_embeddings` for the families whose config class ties the
# output head to the input embedding when config.json leaves the field out.
TIED_BY_DEFAULT = frozenset({"gemma", "gemma2", "gemma3_text", "cohere"})


class Architecture(Frozen):
    """What a dense decoder is made of; enough for a roofline of weights, FLOPs and KV cache."""

    architecture: str = Field(description="Hugging Face class name, e.g. LlamaForCausalLM")
    family: str = Field(description="config.json model_type, e.g. llama")
    params_b: float = Field(gt=0, description="parameter count in billions")
    layers: int = Field(gt=0, description="transformer blocks")
    hidden_size: int = Field(gt=0, description="model width")
    heads: int = Field(gt=0, description="attention (query) heads")
    kv_heads: int = Field(gt=0, description="key/value heads (grouped-query attention)")
    head_dim: int = Field(gt=0, description="width of one attention head")
    intermediate_size: int = Field(gt=0, description="MLP width")
    vocab_size: int = Field(gt=0, description="tokenizer vocabulary")
    tied_embeddings: bool = Field(description="the output head shares the input embedding")
    max_position_embeddings: int | None = Field(default=None, gt=0, description="context length")
    attention_bias: bool = Field(default=False, description="q/k/v projections carry biases")


def _require_int(config: dict[str, Any], key: str, where: str) -> int:
    value = config.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidInputError(f"{where}: field {key!r} must be a positive integer, got {value!r}")
    return value


def quantized_format(config: dict[str, Any], where: str = "config.json") -> Format | None:
    """The format an already-quantized checkpoint is in, from its `quantization_config`
    (None: not quantized). compressed-tensors FP8 / INT8 W8A8 / INT4 W4A16, GPTQ and AWQ at 4
    bits, FP8, and bitsandbytes 4-bit (weight-only, modelled as W4A16); anything else is
    refused, naming what it found."""
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
    elif method == "bitsandbytes" and quant.get("load_in_4bit"):
        return Format.INT4
    raise InvalidInputError(
        found + ") is not a format the advisor models; accepted: compressed-tensors FP8, "
        "INT8 W8A8 or INT4 W4A16, GPTQ or AWQ 4-bit, FP8, bitsandbytes 4-bit"
    )


def parameter_count(
    *,
    layers: int,
    hidden_size: int,
    heads: int,
    kv_heads: int,
    head_dim: int,
    intermediate_size: int,
    vocab_size: int,
    tied_embeddings: bool,
    attention_bias: bool = False,
) -> int:
    """Exact parameter count of a Llama-style dense decoder (gated MLP, RMSNorm)."""
    q_width, kv_width = heads * head_dim, kv_heads * head_dim
    attention = hidden_size * q_width * 2 + hidden_size * kv_width * 2
    if attention_bias:
        attention += q_width + 2 * kv_width
    per_layer = attention + 3 * hidden_size * intermediate_size + 2 * hidden_size
    embeddings = vocab_size * hidden_size * (1 if tied_embeddings else 2)
    return embeddings + layers * per_layer + hidden_size


def architecture_from_config(config: dict[str, Any], where: str = "config.json") -> Architecture:
    """Read a dense decoder's architecture from a parsed config.json; refuse anything else.

    A multimodal checkpoint (Gemma 3, Ministral 3: `*ForConditionalGeneration` with a nested
    `text_config`) is read as its language model: the decoder is what serving costs."""
    text = config.get("text_config")
    if isinstance(text, dict) and not config.get("hidden_size"):
        classes = [str(c) for c in config.get("architectures") or []]
        if any(c.endswith("ForConditionalGeneration") for c in classes):
            config = {
                **text,
                "architectures": [
                    c.replace("ForConditionalGeneration", "ForCausalLM") for c in classes
                ],
                "quantization_config": config.get("quantization_config"),
            }
    if config.get("is_encoder_decoder"):
        raise InvalidInputError(
            f"{where}: an encoder-decoder model is not a decoder-only transformer"
        )
    classes = config.get("architectures") or []
    model_type = str(config.get("model_type", ""))
    if not any(str(name).endswith("ForCausalLM") for name in classes):
        raise InvalidInputError(
            f"{where}: architectures {classes!r} has no *ForCausalLM class; "
            "only decoder-only causal language models are accepted"
        )
    if any(config.get(key) for key in MOE_KEYS):
        raise InvalidInputError(
            f"{where}: model_type {model_type!r} is a mixture-of-experts model; only dense "
            "decoders are supported (accepted: " + ", ".join(sorted(DENSE_DECODER_TYPES)) + ")"
        )
    if model_type not in DENSE_DECODER_TYPES:
        raise InvalidInputError(
            f"{where}: model_type {model_type!r} is not supported; accepted: "
            + ", ".join(sorted(DENSE_DECODER_TYPES))
        )
    hidden = _require_int(config, "hidden_size", where)
    heads = _require_int(config, "num_attention_heads", where)
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or hidden // heads
    fields = {
        "layers": _require_int(config, "num_hidden_layers", where),
        "hidden_size": hidden,
        "heads": heads,
        "kv_heads": int(kv_heads),
        "head_dim": int(head_dim),
        "intermediate_size": _require_int(config, "intermediate_size", where),
        "vocab_size": _require_int(config, "vocab_size", where),
        "tied_embeddings": bool(config.get("tie_word_embeddings", model_type in TIED_BY_DEFAULT)),
        "attention_bias": bool(config.get("attention_bias", model_type == "qwen2")),
    }
    count = parameter_count(**fields)  # type: ignore[arg-type]
    return Architecture(
        architecture=str(classes[0]),
        family=model_type,
        params_b=round(count / 1e9, 4),
        max_position_embeddings=config.get("max_position_embeddings"),
        **fields,
    )
