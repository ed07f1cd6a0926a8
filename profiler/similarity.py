"""Text similarity of a quantized model to its BF16 baseline: greedy answers to the same
prompts, scored with ROUGE-1 and ROUGE-L (F1), and with a sentence-embedding cosine where a
local embedding model is available (the study used a MiniLM sentence-transformer)."""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from advisor.errors import InvalidInputError
from catalog.records import Batch, RunRecord, SimilarityRow, SourceRecord
from profiler.perf import Ingest, Target

TOKEN = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def _f1(overlap: int, a: int, b: int) -> float:
    if overlap == 0 or a == 0 or b == 0:
        return 1.0 if a == b == 0 else 0.0
    precision, recall = overlap / a, overlap / b
    return 2 * precision * recall / (precision + recall)


def rouge1(candidate: str, reference: str) -> float:
    c, r = Counter(words(candidate)), Counter(words(reference))
    return _f1(sum((c & r).values()), sum(c.values()), sum(r.values()))


def rouge_l(candidate: str, reference: str) -> float:
    """F1 of the longest common subsequence of words."""
    c, r = words(candidate), words(reference)
    if not c or not r:
        return 1.0 if c == r else 0.0
    previous = [0] * (len(r) + 1)
    for token in c:
        current = [0]
        for j, other in enumerate(r, start=1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[-1]))
        previous = current
    return _f1(previous[-1], len(c), len(r))


def read_prompts(path: Path, limit: int | None = None) -> list[str]:
    """JSONL with a "prompt" (or "text") field, or one prompt per line."""
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read the prompts ({exc.strerror})") from exc
    prompts = []
    for line in lines:
        if path.suffix in {".jsonl", ".json"}:
            record = json.loads(line)
            prompts.append(str(record.get("prompt") or record.get("text") or ""))
        else:
            prompts.append(line)
    prompts = [p for p in prompts if p]
    if not prompts:
        raise InvalidInputError(f"{path}: no prompts found")
    return prompts[:limit] if limit else prompts


def generate(base_url: str, model: str, prompts: list[str], max_tokens: int) -> list[str]:
    """Greedy completions from an OpenAI-compatible server."""
    answers = []
    for prompt in prompts:
        body = json.dumps(
            {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0}
        ).encode()
        request = urllib.request.Request(
            base_url + "/v1/completions", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            answers.append(json.loads(response.read())["choices"][0]["text"])
    return answers


def embedding_cosines(answers: list[str], references: list[str], model_path: str) -> list[float]:
    from sentence_transformers import SentenceTransformer  # optional: only with a local model

    encoder = SentenceTransformer(model_path, device="cpu")
    a = encoder.encode(answers, normalize_embeddings=True)
    b = encoder.encode(references, normalize_embeddings=True)
    return [float((x * y).sum()) for x, y in zip(a, b, strict=True)]


def score(
    target: Target,
    answers: list[str],
    references: list[str],
    baseline_format: str,
    embedding_model: str | None,
    ingest: Ingest,
) -> dict[str, float]:
    """Mean ROUGE-1, ROUGE-L (and embedding cosine) of answers against the baseline's; stored."""
    scores = {
        "rouge1_f": statistics.fmean(
            rouge1(a, r) for a, r in zip(answers, references, strict=True)
        ),
        "rougeL_f": statistics.fmean(
            rouge_l(a, r) for a, r in zip(answers, references, strict=True)
        ),
    }
    if embedding_model:
        scores["embedding_cosine"] = statistics.fmean(
            embedding_cosines(answers, references, embedding_model)
        )
    record: dict[str, Any] = {
        "target": target.model_dump(mode="json"),
        "answers": answers,
        "references": references,
        "scores": scores,
    }
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    ingest(
        Batch(
            source=SourceRecord(
                kind="profiler",
                name=f"similarity#{digest[:8]}",
                uri="profiler:similarity",
                sha256=digest,
                tool="advisor profile",
                details={"prompts": len(answers)},
            ),
            runs=[
                RunRecord(
                    label="similarity",
                    model=target.model,
                    format=target.format,
                    gpu=target.gpu,
                    gpu_count=target.gpu_count,
                    similarity=[
                        SimilarityRow(
                            metric=m,
                            score=v,
                            prompts=len(answers),
                            baseline_format=baseline_format,
                            embedding_model=embedding_model if m == "embedding_cosine" else None,
                        )
                        for m, v in scores.items()
                    ],
                )
            ],
        )
    )
    return scores
