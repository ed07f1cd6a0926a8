"""Architecture from config.json: what is refused and how; the published sizes of each supported
family are checked in test_published_sizes.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.architecture import architecture_from_config
from advisor.errors import InvalidInputError
from catalog.model_config import load_config

LLAMA_8B = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "tie_word_embeddings": False,
    "max_position_embeddings": 131072,
}
QWEN2_05B = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_attention_heads": 14,
    "num_hidden_layers": 24,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
}


def test_llama_8b_parameter_count_matches_the_published_size() -> None:
    arch = architecture_from_config(LLAMA_8B)
    assert arch.params_b == pytest.approx(8.03, abs=0.01)
    assert (arch.head_dim, arch.kv_heads, arch.tied_embeddings) == (128, 8, False)


def test_qwen2_with_tied_embeddings_and_biases() -> None:
    arch = architecture_from_config(QWEN2_05B)
    assert arch.tied_embeddings and arch.attention_bias
    assert arch.params_b == pytest.approx(0.494, abs=0.001)  # Qwen2-0.5B: 494M parameters


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"is_encoder_decoder": True}, "encoder-decoder"),
        ({"architectures": ["BertModel"], "model_type": "bert"}, "no \\*ForCausalLM"),
        ({"model_type": "mixtral", "num_local_experts": 8}, "'num_experts_per_tok' must be"),
        ({"num_local_experts": 8}, "'llama' has no experts .* accepted: deepseek_v2"),
        ({"model_type": "falcon"}, "'falcon' is not supported; accepted: chatglm, cohere"),
        ({"hidden_size": 0}, "'hidden_size' must be a positive integer"),
        ({"num_hidden_layers": "32"}, "'num_hidden_layers' must be a positive integer"),
    ],
)
def test_refuses_what_is_not_a_supported_decoder(change: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        architecture_from_config({**LLAMA_8B, **change}, "x/config.json")


def test_load_config_from_a_folder_or_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(LLAMA_8B))
    assert load_config(tmp_path) == load_config(tmp_path / "config.json") == LLAMA_8B
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        load_config(tmp_path / "bad.json")
    with pytest.raises(InvalidInputError, match="no such file"):
        load_config(tmp_path / "missing")


GEMMA2_2B = {
    "architectures": ["Gemma2ForCausalLM"],
    "model_type": "gemma2",
    "hidden_size": 2304,
    "num_hidden_layers": 26,
    "num_attention_heads": 8,
    "num_key_value_heads": 4,
    "head_dim": 256,
    "intermediate_size": 9216,
    "vocab_size": 256000,
}


def test_a_family_that_ties_by_default_is_counted_with_one_embedding() -> None:
    """gemma-2-2b's config.json leaves out tie_word_embeddings, which Gemma2Config defaults to
    true: 2.61B parameters, not 3.20B with the head counted twice."""
    arch = architecture_from_config(GEMMA2_2B)
    assert arch.tied_embeddings and round(arch.params_b, 2) == 2.61
    untied = architecture_from_config({**GEMMA2_2B, "tie_word_embeddings": False})
    assert round(untied.params_b, 2) == 3.20
    llama = architecture_from_config({**GEMMA2_2B, "model_type": "llama"})
    assert not llama.tied_embeddings  # LlamaConfig's default is untied


def test_a_mixture_of_experts_model_is_no_longer_refused() -> None:
    config = {**GEMMA2_2B, "model_type": "mixtral", "num_local_experts": 8}
    arch = architecture_from_config({**config, "num_experts_per_tok": 2})
    assert arch.experts is not None and arch.experts.routed == 8
    assert arch.active_b < arch.params_b


def test_a_model_given_as_a_folder_is_served_from_it(tmp_path: Path) -> None:
    """Its name comes from `_name_or_path` when that is a hub id; its checkpoints are the
    folder (BF16) or the one `advisor profile quantize` writes beside it, printed first."""
    from advisor.deploy import checkpoint_name, quantize_command
    from advisor.vocabulary import Format
    from catalog.model_config import local_model

    folder = tmp_path / "my-llama"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**LLAMA_8B, "_name_or_path": "org/my-llama"}))
    (folder / "model.safetensors").write_bytes(b"")  # its weights: served from the folder
    spec = local_model(str(folder))
    assert spec.hf_id == "org/my-llama" and spec.local_path == str(folder.resolve())
    assert checkpoint_name(spec, Format.BF16) == str(folder.resolve())
    assert checkpoint_name(spec, Format.INT4) == f"{folder.resolve()}-quantized.w4a16"
    command = quantize_command(spec, Format.INT4)
    assert command is not None and command.startswith(
        f"advisor profile quantize --model {folder.resolve()} --format int4 "
        f"--out {folder.resolve()}-quantized.w4a16"
    )
    assert quantize_command(spec, Format.BF16) is None
    # A path on the machine that wrote the config is not a hub id.
    (folder / "config.json").write_text(json.dumps({**LLAMA_8B, "_name_or_path": "/srv/x"}))
    assert local_model(str(folder / "config.json")).hf_id is None


W4A16 = {
    "quant_method": "compressed-tensors",
    "format": "pack-quantized",
    "config_groups": {
        "group_0": {
            "targets": ["Linear"],
            "weights": {"num_bits": 4, "type": "int", "strategy": "group", "group_size": 128},
            "input_activations": None,
        }
    },
}


@pytest.mark.parametrize(
    ("quantization", "expected"),
    [
        (W4A16, "int4"),
        (
            {
                "quant_method": "compressed-tensors",
                "config_groups": {
                    "group_0": {
                        "weights": {"num_bits": 8, "type": "int"},
                        "input_activations": {"num_bits": 8, "type": "int", "dynamic": True},
                    }
                },
            },
            "int8",
        ),
        (
            {
                "quant_method": "compressed-tensors",
                "config_groups": {"group_0": {"weights": {"num_bits": 8, "type": "float"}}},
            },
            "fp8",
        ),
        ({"quant_method": "gptq", "bits": 4, "group_size": 128}, "int4"),
        ({"quant_method": "awq", "bits": 4}, "int4"),
        ({"quant_method": "fp8"}, "fp8"),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True}, "int4"),
    ],
)
def test_an_already_quantized_checkpoint_names_its_format(
    quantization: dict, expected: str
) -> None:
    from advisor.architecture import quantized_format

    fmt = quantized_format({**LLAMA_8B, "quantization_config": quantization})
    assert fmt is not None and fmt.value == expected
    assert quantized_format(LLAMA_8B) is None


def test_an_unmodelled_quantization_is_refused_naming_it() -> None:
    from advisor.architecture import quantized_format

    with pytest.raises(InvalidInputError, match="gptq"):
        quantized_format({**LLAMA_8B, "quantization_config": {"quant_method": "gptq", "bits": 3}})


def test_a_quantized_checkpoint_is_advised_as_it_is(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    """Never proposed for re-quantizing: only its own format, served from its folder."""
    from advisor.service import Query
    from catalog.model_config import local_model

    folder = tmp_path / "llama-w4a16"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**LLAMA_8B, "quantization_config": W4A16}))
    spec = local_model(str(folder))
    assert spec.quantized is not None and spec.quantized.value == "int4"
    advice = fitted.advise(Query(model=str(folder), gpu_types=["a100"]), local_models=[spec])
    formats = {o.format.value for o in advice.alternatives} | {
        r.format.value for r in advice.rejected
    }
    assert advice.recommendation is not None
    assert advice.recommendation["format"] == "int4" and formats <= {"int4"}
    assert advice.recommendation["checkpoint"] == str(folder.resolve())
    assert advice.recommendation["quantize_command"] is None
    assert any("already quantized" in d for d in advice.query["defaults"])
    with pytest.raises(InvalidInputError, match="already quantized to int4"):
        fitted.advise(
            Query(model=str(folder), gpu_types=["a100"], formats=["fp8"]), local_models=[spec]
        )


GEMMA3_1B = {
    "architectures": ["Gemma3ForCausalLM"],
    "model_type": "gemma3_text",
    "hidden_size": 1152,
    "num_hidden_layers": 26,
    "num_attention_heads": 4,
    "num_key_value_heads": 1,
    "head_dim": 256,
    "intermediate_size": 6912,
    "vocab_size": 262144,
}


def test_gemma_3_and_a_nested_text_config() -> None:
    """Gemma-3-1B is 999.9M parameters (tied by default); a multimodal checkpoint is read as
    its language model."""
    assert architecture_from_config(GEMMA3_1B).params_b == pytest.approx(1.0, abs=0.002)
    text = {k: v for k, v in GEMMA3_1B.items() if k != "architectures"}
    nested = {
        "architectures": ["Gemma3ForConditionalGeneration"],
        "model_type": "gemma3",
        "text_config": text,
    }
    arch = architecture_from_config(nested)
    assert arch.architecture == "Gemma3ForCausalLM" and arch.tied_embeddings
    assert arch.params_b == architecture_from_config(GEMMA3_1B).params_b
