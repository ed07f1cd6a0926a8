"""Model families for accuracy: the model_type a model's architecture class is named after.

A config.json, a catalog model and a published card all reach the advisor differently: a config
names its class and model_type, a catalog model its class (its `family` column names the product
line, `llama-3.1`), a card only its Hugging Face id. The class is what the first two share, and
transformers names each class after its model_type: LlamaForCausalLM is `llama`, Qwen3MoeForCausalLM
`qwen3_moe`, Gemma3ForCausalLM `gemma3` (whether the config says `gemma3` or `gemma3_text`).
"""

from __future__ import annotations

import re

# The model_type of the published models the cards score outside the catalog, from their
# Hugging Face names (the cards carry no config.json; each family's config.json on the Hub):
# Llama 2 to 3.3 and their fine-tunes (Nemotron-70B, R1-Distill-Llama) are LlamaForCausalLM,
# Llama 4 is Llama4ForConditionalGeneration. The first pattern that matches wins.
PUBLISHED_FAMILIES = (
    (re.compile(r"\bllama-4\b"), "llama4"),
    (re.compile(r"\bgemma-3\b"), "gemma3"),
    (re.compile(r"\bgemma-2\b"), "gemma2"),
    (re.compile(r"\bgranite\b"), "granite"),
    (re.compile(r"\bllama\b"), "llama"),
)
# `...-70B-Instruct`, `gemma-3-1b-it`: the size a model's name states, in billions (Llama-4's
# `17B-16E` names its active parameters).
_NAMED_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)b(?![a-z])")
_CLASS_SUFFIX = re.compile(r"For[A-Z]\w*$")
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def class_family(architecture: str) -> str:
    """`Qwen3MoeForCausalLM` -> `qwen3_moe`, `LlamaForCausalLM` -> `llama`."""
    return _WORD_START.sub("_", _CLASS_SUFFIX.sub("", architecture)).lower()


def published_family(model: str) -> str | None:
    """The family of a published model known only by its Hugging Face id; None: not known."""
    name = model.rsplit("/", 1)[-1].lower()
    return next((family for pattern, family in PUBLISHED_FAMILIES if pattern.search(name)), None)


def named_size_b(model: str) -> float | None:
    """The size in billions a model's name states (`Llama-3.3-70B-Instruct` -> 70.0)."""
    found = _NAMED_SIZE.search(model.rsplit("/", 1)[-1].lower())
    return float(found.group(1)) if found else None
