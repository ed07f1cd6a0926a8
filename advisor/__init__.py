"""Deployment advisor for quantized LLMs: the pure core (vocabulary, models, search)."""

__version__ = "0.1.0"
