"""Quantize a model with llmcompressor, the study's recipes. Runs in llmcompressor's own Python
environment (it pins its own compressed-tensors), so it imports nothing from this package.

    python quantize_llmcompressor.py --model DIR --format fp8|int8|int4 [--calibration FILE]
                                     --out DIR [--samples 64] [--max-seq-len 512]

FP8 (W8A8-FP): symmetric per-output-channel weights by round-to-nearest, dynamic per-token
activations, no calibration data. INT8 (W8A8-INT): SmoothQuant (strength 0.8), then GPTQ with
symmetric per-channel weights, dynamic per-token activations. INT4 (W4A16-INT): GPTQ, groups of
128, MSE-optimal clipping. Calibration text comes from a local JSONL ("text" field) or text file.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def calibration_texts(path: Path, samples: int) -> list[str]:
    texts: list[str] = []
    if path.suffix in {".jsonl", ".json"}:
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            text = record.get("text") if isinstance(record, dict) else None
            if text is None and isinstance(record, dict):
                text = next((v for v in record.values() if isinstance(v, str)), None)
            if text:
                texts.append(text)
    else:
        texts = [block.strip() for block in path.read_text().split("\n\n") if block.strip()]
    if not texts:
        raise SystemExit(f"{path}: no calibration text found (JSONL with 'text', or plain text)")
    while len(texts) < samples:
        texts += texts
    return texts[:samples]


def recipe(fmt: str) -> list[object]:
    from llmcompressor.modifiers.quantization import GPTQModifier, QuantizationModifier

    if fmt == "fp8":
        return [QuantizationModifier(targets="Linear", scheme="FP8_DYNAMIC", ignore=["lm_head"])]
    if fmt == "int8":
        from llmcompressor.modifiers.smoothquant import SmoothQuantModifier

        return [
            SmoothQuantModifier(smoothing_strength=0.8),
            GPTQModifier(targets="Linear", scheme="W8A8", ignore=["lm_head"]),
        ]
    if fmt == "int4":
        groups = {
            "group_0": {
                "targets": ["Linear"],
                "weights": {
                    "num_bits": 4,
                    "type": "int",
                    "symmetric": True,
                    "strategy": "group",
                    "group_size": 128,
                    "observer": "mse",
                },
            }
        }
        return [GPTQModifier(config_groups=groups, ignore=["lm_head"])]
    raise SystemExit(f"unknown format {fmt!r}; accepted: fp8, int8, int4")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--format", required=True, choices=["fp8", "int8", "int4"])
    parser.add_argument("--calibration", type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--max-seq-len", type=int, default=512)
    args = parser.parse_args()

    from llmcompressor import oneshot
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.time()
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype="auto")
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    dataset = None
    if args.format != "fp8":
        if args.calibration is None:
            raise SystemExit(f"--calibration FILE is required for {args.format} (GPTQ)")
        from datasets import Dataset

        texts = calibration_texts(args.calibration, args.samples)
        encoded = tokenizer(texts, truncation=True, max_length=args.max_seq_len)
        dataset = Dataset.from_dict(
            {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
        )
    kwargs = (
        {
            "dataset": dataset,
            "num_calibration_samples": args.samples,
            "max_seq_length": args.max_seq_len,
        }
        if dataset is not None
        else {}
    )
    oneshot(model=model, recipe=recipe(args.format), output_dir=str(args.out), **kwargs)
    tokenizer.save_pretrained(args.out)
    record = {
        "source_model": args.model,
        "format": args.format,
        "calibration": str(args.calibration),
        "samples": args.samples,
        "max_seq_len": args.max_seq_len,
        "seconds": round(time.time() - started, 1),
        "tool": "llmcompressor",
    }
    try:
        from importlib.metadata import version

        record["tool_version"] = version("llmcompressor")
    except Exception:
        pass
    (args.out / "quantization_record.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
