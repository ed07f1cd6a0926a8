"""What a model weighs: bytes of weights and KV cache, FLOPs per token, and whether it fits."""

from __future__ import annotations

from functools import cache

from advisor.architecture import Architecture
from advisor.hardware import MEMORY_UTILISATION, Gpu
from advisor.vocabulary import Format

WEIGHT_BITS = {Format.BF16: 16, Format.FP8: 8, Format.INT8: 8, Format.INT4: 4}


@cache
def linear_weight_bytes(arch: Architecture, fmt: Format) -> float:
    """The quantized linear layers, with INT4's BF16 scale per group of 128."""
    linear = linear_params(arch)
    scales = linear / 128 * 2 if fmt is Format.INT4 else 0.0
    return linear * WEIGHT_BITS[fmt] / 8 + scales


def weight_bytes(arch: Architecture, fmt: Format) -> float:
    """Bytes of weights: quantized linear layers, BF16 embeddings (and head unless tied)."""
    embeddings = arch.vocab_size * arch.hidden_size * (1 if arch.tied_embeddings else 2)
    return linear_weight_bytes(arch, fmt) + embeddings * 2


def streamed_bytes_per_token(arch: Architecture, fmt: Format) -> float:
    """Bytes read from memory for one decode step at batch 1: every linear layer and the
    output head (the input embedding is a lookup)."""
    return linear_weight_bytes(arch, fmt) + arch.vocab_size * arch.hidden_size * 2


@cache
def linear_params(arch: Architecture) -> float:
    q, kv = arch.heads * arch.head_dim, arch.kv_heads * arch.head_dim
    per_layer = 2 * arch.hidden_size * q + 2 * arch.hidden_size * kv
    per_layer += 3 * arch.hidden_size * arch.intermediate_size
    return float(arch.layers * per_layer)


def kv_bytes_per_token(arch: Architecture) -> float:
    """BF16 KV cache: keys and values for every layer."""
    return 2.0 * arch.layers * arch.kv_heads * arch.head_dim * 2


def flops_per_token(arch: Architecture, context: float) -> float:
    """Forward FLOPs for one token attending to `context` earlier tokens."""
    dense = 2 * (linear_params(arch) + arch.vocab_size * arch.hidden_size)
    attention = 4 * arch.layers * arch.heads * arch.head_dim * context
    return dense + attention


def memory_needed_gib(
    arch: Architecture, fmt: Format, context_tokens: int, sequences: int = 1
) -> float:
    return (weight_bytes(arch, fmt) + kv_bytes_per_token(arch) * context_tokens * sequences) / 2**30


def fits(arch: Architecture, fmt: Format, gpu: Gpu, count: int, context_tokens: int) -> bool:
    """Weights plus one full-length sequence of KV cache within count x memory x 0.9."""
    budget = count * gpu.memory_gib * MEMORY_UTILISATION
    return memory_needed_gib(arch, fmt, context_tokens) <= budget
