"""How a figure is written for a person: significant digits without losing integer digits,
thousands separators, never scientific notation, dollars with cents from $0.10 up.

Every figure a person reads goes through here: the advisor's reasons, the CLI's tables, the
charts and the report. The page's script (api/web/app.js `fmt` and `usd`) writes figures by the
same rules, rounding
half away from zero as JavaScript's toFixed does; tests/api/test_page_script.py checks the two
agree figure for figure.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal


def _exponent(value: float, digits: int) -> int:
    """The power of ten of `value` once rounded to `digits` significant digits (99.96 at three
    digits is 100: exponent 2)."""
    return Context(prec=digits, rounding=ROUND_HALF_UP).plus(Decimal(value)).adjusted()


def _positional(value: float, decimals: int) -> str:
    """`value` with `decimals` decimals, thousands separators, rounded half away from zero."""
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{rounded:,f}"


def fixed(value: float | None, digits: int = 3) -> str:
    """`digits` significant digits in positional notation; a number with more integer digits
    than that is written whole (1,130 at three digits, not 1.13e+03); zeros after the point
    are dropped (45.0 reads 45)."""
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}".replace("-0", "0")
    exponent = _exponent(value, digits)
    text = _positional(value, max(digits - 1 - exponent, 0))
    return text.rstrip("0").rstrip(".") if "." in text else text


def usd(value: float | None) -> str:
    """Dollars and cents from $0.10 up ($0.80 beside $1.60); below, three significant digits
    in positional notation ($0.0000179, never $1.79e-05)."""
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return f"${value:g}".replace("-0", "0")
    sign = "-" if value < 0 else ""
    exponent = _exponent(abs(value), 3)
    decimals = 2 if exponent >= -1 else 2 - exponent
    return f"{sign}${_positional(abs(value), decimals)}"
