"""The profiler: measure a model with the real tools (llmcompressor, vLLM, GuideLLM, lm-eval)."""
