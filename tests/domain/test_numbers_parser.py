"""domain/numbers.py directly: what tests/test_numbers.py leaves out. Absent values, the
sign rule on every input type (also for text the parser has cached), unsupported types,
quantize_down and fmt at their edges.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from gridledger.domain.numbers import InputError, fmt, opt_decimal, quantize_down, to_decimal, to_price


@pytest.mark.parametrize("value", [None, ""])
def test_absent_values_are_none_or_missing(value: object) -> None:
    assert opt_decimal(value, "f") is None
    with pytest.raises(InputError, match=r"^qty is missing$"):
        to_decimal(value, "qty")


@pytest.mark.parametrize("value", ["-0.5", D("-0.5"), -3, -0.25])
def test_negative_values_only_where_allowed(value: object) -> None:
    with pytest.raises(InputError, match=r"^fee is negative: "):
        to_decimal(value, "fee")
    assert to_decimal(value, "fee", negative_ok=True) < 0


def test_the_sign_rule_holds_for_text_read_before() -> None:
    # The parser caches text it has read; a value cached with negative_ok must still be
    # refused where negatives are not allowed.
    assert to_decimal("-0.0123", "rebate", negative_ok=True) == D("-0.0123")
    with pytest.raises(InputError, match=r"^amount is negative"):
        to_decimal("-0.0123", "amount")


@pytest.mark.parametrize("value, kind", [([1], "list"), ({"v": 1}, "dict"), (b"1", "bytes"), (object(), "object")])
def test_unsupported_types_are_named(value: object, kind: str) -> None:
    with pytest.raises(InputError, match=f"^f has type {kind}, not a number"):
        to_decimal(value, "f")


def test_a_negative_price_gets_the_price_message() -> None:
    with pytest.raises(InputError, match=r"^px must be a positive price"):
        to_price("-1", "px")


@pytest.mark.parametrize(
    "value, step, want",
    [
        (D("0.123456"), D("0.001"), D("0.123")),
        (D("5"), D("2"), D("4")),
        (D("0.0009"), D("0.001"), D("0")),
        (D("1.5"), D("0"), D("1.5")),  # no step: unchanged
        (D("1.5"), D("-1"), D("1.5")),
    ],
)
def test_quantize_down_rounds_toward_zero_to_a_multiple(value: D, step: D, want: D) -> None:
    got = quantize_down(value, step)
    assert got == want and got <= value


@pytest.mark.parametrize(
    "value, text",
    [
        (None, None),
        (D("0E-30"), "0"),
        (D("-0"), "0"),
        (D("1E+3"), "1000"),
        (D("-1.50"), "-1.5"),
        (D("1E-30"), "0.000000000000000000000000000001"),
    ],
)
def test_fmt_edges(value: D | None, text: str | None) -> None:
    assert fmt(value) == text
