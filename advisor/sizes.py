"""What a model weighs: bytes of weights and KV cache, FLOPs per token, and whether it fits.

A mixture of experts keeps all its experts in memory (`weight_bytes`) but a token reads and
computes only the experts it is routed to (`streamed_bytes`, `flops_per_token`); a forward pass
over several tokens reads the union of their experts (`touched_experts`). Sliding-window layers
hold at most their window of KV cache, so KV bytes are a function of the context (`kv_bytes`).
"""

from __future__ import annotations

import math
from functools import cache

from advisor.hardware import MEMORY_UTILISATION, Gpu
from advisor.structure import Architecture, active_linear_params, linear_params, matrices
from advisor.vocabulary import Format

WEIGHT_BITS = {Format.BF16: 16, Format.FP8: 8, Format.INT8: 8, Format.INT4: 4}
KV_BYTES = 2  # BF16 keys and values


def _quantized_bytes(params: float, fmt: Format) -> float:
    """Linear-layer parameters in `fmt`, with INT4's BF16 scale per group of 128."""
    scales = params / 128 * 2 if fmt is Format.INT4 else 0.0
    return params * WEIGHT_BITS[fmt] / 8 + scales


@cache
def linear_weight_bytes(arch: Architecture, fmt: Format) -> float:
    """The quantized linear layers, every expert included."""
    return _quantized_bytes(float(linear_params(arch)), fmt)


def weight_bytes(arch: Architecture, fmt: Format) -> float:
    """Bytes of weights: quantized linear layers, BF16 embeddings (and head unless tied)."""
    embeddings = arch.vocab_size * arch.hidden_size * (1 if arch.tied_embeddings else 2)
    return linear_weight_bytes(arch, fmt) + embeddings * 2


def expert_share(arch: Architecture) -> float:
    """The share of a MoE layer's routed experts one token is sent to, k / E (0: dense)."""
    return arch.experts.per_token / arch.experts.routed if arch.experts else 0.0


def touched_experts(arch: Architecture, tokens: float) -> float:
    """Expected distinct routed experts one MoE layer reads in a forward pass over `tokens`
    tokens, each routed to k of the E experts: E (1 - (1 - k/E)^tokens) under uniform routing.
    Real routers are skewed (popular experts are shared more often), so this is the most a
    batch reads: one token reads k, a large batch all E."""
    if arch.experts is None:
        return 0.0
    if tokens <= 1:
        return float(arch.experts.per_token)
    share = expert_share(arch)
    if share >= 1:
        return float(arch.experts.routed)
    return arch.experts.routed * -math.expm1(tokens * math.log1p(-share))


@cache
def routed_expert_bytes(arch: Architecture, fmt: Format) -> float:
    """Bytes of every routed expert of every MoE layer, in `fmt` (0: dense)."""
    if arch.experts is None:
        return 0.0
    routed = arch.experts.layers * arch.experts.routed * matrices(arch).expert
    return _quantized_bytes(float(routed), fmt)


def streamed_bytes(arch: Architecture, fmt: Format, tokens: float = 1.0) -> float:
    """Bytes read from memory by one forward pass over `tokens` tokens: the linear layers it
    goes through (for a mixture of experts, the experts its tokens touch) and the output head
    (the input embedding is a lookup)."""
    head = arch.vocab_size * arch.hidden_size * 2
    if arch.experts is None:
        return linear_weight_bytes(arch, fmt) + head
    active = _quantized_bytes(float(active_linear_params(arch)), fmt)
    extra = touched_experts(arch, tokens) - arch.experts.per_token
    per_expert = routed_expert_bytes(arch, fmt) / arch.experts.routed
    return active + extra * per_expert + head


def streamed_bytes_per_token(arch: Architecture, fmt: Format) -> float:
    """Bytes read from memory for one decode step at batch 1 (a MoE reads its active set)."""
    return streamed_bytes(arch, fmt, 1.0)


def kv_bytes_per_layer_token(arch: Architecture) -> int:
    """KV cache of one token in one layer: keys and values of every KV head, or for latent
    attention the one compressed latent and its rotary key (as vLLM caches MLA)."""
    latent = arch.latent_attention
    if latent is not None:
        return (latent.kv_lora_rank + latent.qk_rope_head_dim) * KV_BYTES
    return 2 * arch.kv_heads * arch.head_dim * KV_BYTES


def attended_tokens(arch: Architecture, context: float) -> float:
    """Tokens summed over layers that one token at `context` attends to: the full context in
    full-attention layers, at most the window in sliding-window (or chunked) ones."""
    full = arch.layers - arch.sliding_layers
    if not arch.sliding_layers or arch.sliding_window is None:
        return full * context
    return full * context + arch.sliding_layers * min(context, arch.sliding_window)


def kv_bytes(arch: Architecture, context: float) -> float:
    """BF16 KV cache of one sequence of `context` tokens."""
    return kv_bytes_per_layer_token(arch) * attended_tokens(arch, context)


def kv_bytes_per_token(arch: Architecture, context: float | None = None) -> float:
    """KV bytes per token of a sequence of `context` tokens (None: of a long one in a model
    without sliding windows, i.e. the full-attention figure)."""
    if context is None or not arch.sliding_layers:
        return float(kv_bytes_per_layer_token(arch) * arch.layers)
    return kv_bytes(arch, context) / context


def kv_split(arch: Architecture, tp: int) -> int:
    """Ways tensor parallelism divides the KV cache: by heads, or not at all for latent
    attention (each GPU of the group keeps the whole latent, as vLLM does)."""
    return 1 if arch.latent_attention is not None else tp


def flops_per_token(arch: Architecture, context: float) -> float:
    """Forward FLOPs for one token attending to `context` earlier tokens (a MoE token
    computes its own experts only)."""
    dense = 2 * (active_linear_params(arch) + arch.vocab_size * arch.hidden_size)
    v_dim = arch.latent_attention.v_head_dim if arch.latent_attention else arch.head_dim
    attention = 2 * arch.heads * (arch.head_dim + v_dim) * attended_tokens(arch, context)
    return dense + attention


def memory_needed_gib(
    arch: Architecture, fmt: Format, context_tokens: int, sequences: int = 1, tp: int = 1
) -> float:
    """Weights and the KV cache of `sequences` sequences of `context_tokens`, over the `tp`
    GPUs of one tensor-parallel group (latent attention's cache is on each of them)."""
    kv = kv_bytes(arch, context_tokens) * sequences * (tp / kv_split(arch, tp))
    return (weight_bytes(arch, fmt) + kv) / 2**30


def fits(arch: Architecture, fmt: Format, gpu: Gpu, count: int, context_tokens: int) -> bool:
    """Weights plus one full-length sequence of KV cache within count x memory x 0.9."""
    budget = count * gpu.memory_gib * MEMORY_UTILISATION
    return memory_needed_gib(arch, fmt, context_tokens, tp=count) <= budget
