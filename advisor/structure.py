"""What a decoder is made of (its architecture: attention, MLP or experts, windows) and how many
parameter matrices each part holds; what those weigh in bytes is `advisor.sizes`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pydantic import Field

from advisor.vocabulary import Frozen


class Experts(Frozen):
    """The routed experts of a mixture-of-experts model (Mixtral, Qwen-MoE, DeepSeek, gpt-oss,
    Llama 4): each MoE layer routes every token to `per_token` of its `routed` experts."""

    routed: int = Field(gt=1, description="routed experts per MoE layer")
    per_token: int = Field(gt=0, description="routed experts chosen for each token")
    layers: int = Field(gt=0, description="transformer blocks whose MLP is a mixture of experts")
    intermediate_size: int = Field(gt=0, description="MLP width of one routed expert")
    shared_intermediate_size: int = Field(
        default=0, ge=0, description="MLP width of the shared experts together (0: none)"
    )


class LatentAttention(Frozen):
    """DeepSeek's multi-head latent attention (MLA): keys and values are projected up from one
    compressed latent per token, which is all the KV cache holds."""

    kv_lora_rank: int = Field(gt=0, description="width of the compressed key/value latent")
    q_lora_rank: int = Field(default=0, ge=0, description="query compression (0: none)")
    qk_rope_head_dim: int = Field(gt=0, description="rotary part of a query/key head")
    v_head_dim: int = Field(gt=0, description="width of one value head")


class Architecture(Frozen):
    """What a decoder is made of; enough for a roofline of weights, FLOPs and KV cache."""

    architecture: str = Field(description="Hugging Face class name, e.g. LlamaForCausalLM")
    family: str = Field(description="config.json model_type, e.g. llama")
    params_b: float = Field(gt=0, description="parameter count in billions")
    layers: int = Field(gt=0, description="transformer blocks")
    hidden_size: int = Field(gt=0, description="model width")
    heads: int = Field(gt=0, description="attention (query) heads")
    kv_heads: int = Field(gt=0, description="key/value heads (grouped-query attention)")
    head_dim: int = Field(gt=0, description="width of one query/key head")
    intermediate_size: int = Field(gt=0, description="MLP width of the dense (non-expert) layers")
    vocab_size: int = Field(gt=0, description="tokenizer vocabulary")
    tied_embeddings: bool = Field(description="the output head shares the input embedding")
    max_position_embeddings: int | None = Field(default=None, gt=0, description="context length")
    attention_bias: bool = Field(default=False, description="q/k/v projections carry biases")
    active_params_b: float | None = Field(
        default=None,
        gt=0,
        description="parameters one token uses, embeddings included, billions (None: all)",
    )
    experts: Experts | None = Field(default=None, description="mixture of experts (None: dense)")
    latent_attention: LatentAttention | None = Field(
        default=None, description="multi-head latent attention (None: per-head keys and values)"
    )
    sliding_window: int | None = Field(
        default=None, gt=0, description="tokens a sliding-window (or chunked) layer attends to"
    )
    sliding_layers: int = Field(
        default=0, ge=0, description="layers that attend within `sliding_window` only"
    )

    @property
    def active_b(self) -> float:
        """Parameters one token uses, billions: all of them for a dense model."""
        return self.params_b if self.active_params_b is None else self.active_params_b


@dataclass(frozen=True)
class Matrices:
    """Parameters of the linear layers (the matrices a format quantizes), by part."""

    attention: int  # per layer
    dense_mlp: int  # per dense (non-expert) layer
    router: int  # per MoE layer
    shared: int  # shared experts, per MoE layer
    expert: int  # one routed expert

    def always_read(self, arch: Architecture) -> int:
        """What every forward pass reads whatever the routing: attention, dense MLPs, routers
        and shared experts."""
        moe = arch.experts.layers if arch.experts else 0
        dense = arch.layers - moe
        return (
            arch.layers * self.attention
            + dense * self.dense_mlp
            + moe * (self.router + self.shared)
        )


@cache
def matrices(arch: Architecture) -> Matrices:
    """The linear layers' parameters (no biases or norms: they stay in BF16 and are small)."""
    h = arch.hidden_size
    latent = arch.latent_attention
    if latent is None:
        q, kv = arch.heads * arch.head_dim, arch.kv_heads * arch.head_dim
        attention = 2 * h * q + 2 * h * kv
    else:
        nope = arch.head_dim - latent.qk_rope_head_dim
        q_width = arch.heads * arch.head_dim
        query = (
            h * latent.q_lora_rank + latent.q_lora_rank * q_width
            if latent.q_lora_rank
            else h * q_width
        )
        down = h * (latent.kv_lora_rank + latent.qk_rope_head_dim)
        up = latent.kv_lora_rank * arch.heads * (nope + latent.v_head_dim)
        attention = query + down + up + arch.heads * latent.v_head_dim * h
    experts = arch.experts
    return Matrices(
        attention=attention,
        dense_mlp=3 * h * arch.intermediate_size,
        router=h * experts.routed if experts else 0,
        shared=3 * h * experts.shared_intermediate_size if experts else 0,
        expert=3 * h * experts.intermediate_size if experts else 0,
    )


def linear_params(arch: Architecture) -> int:
    """Every linear layer's parameters: what quantization shrinks."""
    m = matrices(arch)
    routed = arch.experts.layers * arch.experts.routed if arch.experts else 0
    return m.always_read(arch) + routed * m.expert


def active_linear_params(arch: Architecture) -> int:
    """The linear parameters one token goes through: its chosen experts only."""
    m = matrices(arch)
    chosen = arch.experts.layers * arch.experts.per_token if arch.experts else 0
    return m.always_read(arch) + chosen * m.expert


def embedding_params(arch: Architecture) -> int:
    """The input embedding, and the output head unless it is tied to it."""
    return arch.vocab_size * arch.hidden_size * (1 if arch.tied_embeddings else 2)


def parameter_counts(
    arch: Architecture, per_layer: int = 0, per_expert: int = 0, once: int = 0
) -> tuple[int, int]:
    """(total, per-token) parameters: the linear layers, the embeddings and head, and what the
    config reader counts besides them (norms, biases, attention sinks), per layer, per routed
    expert or once.

    Per token means the experts it is routed to plus everything always read, embeddings
    included (how Mistral, Qwen and Meta state "active" parameters)."""
    rest = embedding_params(arch) + arch.layers * per_layer + once
    routed = chosen = 0
    if arch.experts:
        routed = arch.experts.layers * arch.experts.routed * per_expert
        chosen = arch.experts.layers * arch.experts.per_token * per_expert
    return linear_params(arch) + rest + routed, active_linear_params(arch) + rest + chosen
