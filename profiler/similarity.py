"""Text similarity of a quantized model to its BF16 baseline: greedy answers to the same
prompts, scored with ROUGE-1 and ROUGE-L (F1, computed by rouge-score), and with a
sentence-embedding cosine where a local embedding model is available (the study used a MiniLM
sentence-transformer)."""

from __future__ import annotations

import hashlib
import json
import statistics
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

from advisor.errors import InvalidInputError
from catalog.records import Batch, RunRecord, SimilarityRow, SourceRecord
from profiler.perf import Ingest, Target

ROUGE_TYPES = ("rouge1", "rougeL")


@cache
def _rouge() -> tuple[Any, Any]:
    """rouge-score's tokenizer and scorer, imported on first use: rouge-score pulls in NLTK
    (seconds), which commands that only import the profiler's plan must not pay for."""
    from rouge_score import rouge_scorer, tokenizers

    # Plain ROUGE as published (no stemming), so the figures compare with other studies'.
    tokenizer = tokenizers.DefaultTokenizer(use_stemmer=False)
    return tokenizer, rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=tokenizer)


def words(text: str) -> list[str]:
    """The tokens ROUGE compares: rouge-score's lower-cased ASCII words and numbers."""
    return [str(token) for token in _rouge()[0].tokenize(text)]


def _fmeasure(kind: str, candidate: str, reference: str) -> float:
    # rouge-score gives 0 for two empty texts; an empty answer to an empty reference is a copy.
    if not words(candidate) and not words(reference):
        return 1.0
    return float(_rouge()[1].score(reference, candidate)[kind].fmeasure)


def rouge1(candidate: str, reference: str) -> float:
    """F1 of the unigrams shared with the reference."""
    return _fmeasure("rouge1", candidate, reference)


def rouge_l(candidate: str, reference: str) -> float:
    """F1 of the longest common subsequence of words."""
    return _fmeasure("rougeL", candidate, reference)


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
