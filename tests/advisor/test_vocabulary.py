from __future__ import annotations

import pytest

from advisor.errors import UnknownNameError
from advisor.vocabulary import Format, format_from_name, parse_format


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("W8A8-FP", Format.FP8),
        ("w8a8-int", Format.INT8),
        ("W4A16-INT", Format.INT4),
        ("BF16", Format.BF16),
        (" fp8 ", Format.FP8),
        ("int4", Format.INT4),
    ],
)
def test_study_spellings_are_aliases(spelling: str, expected: Format) -> None:
    assert parse_format(spelling) is expected


def test_unknown_format_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'int8'"):
        parse_format("int9")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8", Format.FP8),
        ("neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w8a8", Format.INT8),
        ("neuralmagic/Meta-Llama-3.1-405B-Instruct-quantized.w4a16", Format.INT4),
        ("meta-llama/Llama-3.1-8B-Instruct", None),
    ],
)
def test_format_from_checkpoint_names(name: str, expected: Format | None) -> None:
    assert format_from_name(name) is expected
