"""numbers.py: only plain ASCII decimals, bounded digits and exponents, exact ledger context
(issue 7 item 3)."""

from __future__ import annotations

from decimal import Decimal as D
from decimal import Inexact, getcontext, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.domain.numbers import (
    LEDGER_CONTEXT,
    MAX_DIGITS,
    MIN_PRICE,
    InputError,
    exact,
    fmt,
    opt_decimal,
    opt_limit_price,
    show,
    to_decimal,
    to_price,
)

FORTY = "0.1234567890123456789012345678901234567890"  # 40 significant digits


@pytest.mark.parametrize(
    "text, why",
    [
        ("١٢", "plain decimal"),  # Arabic-Indic 12: Decimal() reads it as 12
        ("۱۲", "plain decimal"),  # Extended Arabic-Indic
        ("１２", "plain decimal"),  # full-width digits
        (" 0.001", "plain decimal"),
        ("0.001 ", "plain decimal"),
        ("\t1", "plain decimal"),
        ("1\n", "plain decimal"),
        ("1_000", "plain decimal"),
        ("0x10", "not a number"),
        ("1e-41", "out of range"),
        ("1e41", "out of range"),
        ("1E+5000", "out of range"),
        ("1e999999999", "out of range"),
        ("NaN", "not finite"),
        ("-sNaN1", "not finite"),
        ("Infinity", "not finite"),
        ("--1", "not a number"),
        ("1.2.3", "not a number"),
        ("0." + "1" * (MAX_DIGITS + 1), "significant digits"),
        ("1" * 101, "plain decimal"),  # longer than any number a venue writes
    ],
)
def test_non_plain_or_unbounded_text_is_rejected_naming_the_field(text: str, why: str) -> None:
    with pytest.raises(InputError, match=f"^the field .*{why}"):
        to_decimal(text, "the field", negative_ok=True)


@pytest.mark.parametrize(
    "value, why",
    [
        (10**5000, "out of range"),
        (10**MAX_DIGITS, "out of range"),
        (D("1E+5000"), "out of range"),
        (D("1E-41"), "out of range"),
        (D("NaN"), "not finite"),
        (D("0." + "1" * 45), "significant digits"),
        (1e300, "out of range"),
        (float("inf"), "not finite"),
        (True, "boolean"),
    ],
    ids=["int-5000-digits", "int-41-digits", "1E+5000", "1E-41", "NaN", "45-digits", "1e300", "inf", "bool"],
)
def test_non_text_inputs_are_bounded_too(value: object, why: str) -> None:
    with pytest.raises(InputError, match=f"^f .*{why}"):
        to_decimal(value, "f")


@pytest.mark.parametrize(
    "text, value",
    [
        ("0.001", D("0.001")),
        ("0.00100000", D("0.001")),
        ("-0.5", D("-0.5")),
        ("1e-40", D("1e-40")),
        ("9.9e40", D("9.9e40")),
        ("1E+3", D("1000")),
        ("5.", D("5")),
        (".5", D("0.5")),
        ("0E-9999", D(0)),  # zero with any exponent is just zero
        (FORTY, D(FORTY)),
        (12, D(12)),
        (D("1.5"), D("1.5")),
        (0.1, D("0.1")),
    ],
)
def test_plain_decimals_are_read_exactly(text: object, value: D) -> None:
    got = to_decimal(text, "f", negative_ok=True)
    assert got == value
    assert str(got) == str(value) or got == value


def test_zero_from_text_has_a_sane_exponent() -> None:
    assert to_decimal("0E-9999", "f").as_tuple().exponent >= -79


@pytest.mark.parametrize("text", ["0", "-1", "1e-21", "1e-40", "0.0"])
def test_prices_must_be_positive_and_at_least_the_minimum(text: str) -> None:
    with pytest.raises(InputError, match=r"^fillPx must be a positive price"):
        to_price(text, "fillPx")


def test_price_bounds() -> None:
    assert to_price("1e-20", "p") == MIN_PRICE
    assert to_price("0.00000001", "p") == D("1e-8")  # SHIB-like quotes are fine
    assert opt_limit_price("0", "p") is None  # market orders report price 0
    assert opt_limit_price("", "p") is None
    with pytest.raises(InputError, match=r"^p must be 0"):
        opt_limit_price("1e-40", "p")


def test_show_never_echoes_more_than_a_short_prefix() -> None:
    assert len(show("x" * 50_000_000)) < 80
    assert "5000 digits" in show(10**4999) or "digits" in show(10**4999)  # no ValueError
    with pytest.raises(InputError) as err:
        to_decimal("9" * 5_000_000, "price")
    assert len(str(err.value)) < 200


def test_ledger_context_is_exact_and_loud() -> None:
    a = D(FORTY)
    assert getcontext().prec == 28  # the process default is untouched

    @exact
    def total() -> D:
        return a + a * D("30000") + D("1e-40")

    assert Fraction(total()) == Fraction(a) * 30001 + Fraction(1, 10**40)  # not rounded to 28 digits
    with localcontext(LEDGER_CONTEXT), pytest.raises(Inexact):
        D(1) / D(3)  # rounding inside the ledger context would be a bug: it raises
    assert getcontext().prec == 28


def test_fmt_does_not_round_to_28_digits() -> None:
    assert fmt(D(FORTY)) == FORTY[:-1]  # trailing zero dropped, nothing rounded
    assert fmt(D("0.1234567890123456789012345678901234567891")) == "0.1234567890123456789012345678901234567891"
    assert fmt(D("12345678901234567890.12345678901234567890")) == "12345678901234567890.1234567890123456789"


@settings(max_examples=150, deadline=None)
@given(
    digits=st.integers(min_value=1, max_value=10**MAX_DIGITS - 1),
    exponent=st.integers(min_value=-79, max_value=0),
    negative=st.booleans(),
)
def test_any_bounded_decimal_round_trips_exactly(digits: int, exponent: int, negative: bool) -> None:
    value = D(f"{'-' if negative else ''}{digits}E{exponent}")
    if not -40 <= value.adjusted() <= 40:
        with pytest.raises(InputError):
            to_decimal(str(value), "f", negative_ok=True)
        return
    for text in (str(value), format(value, "f") if len(format(value, "f")) <= 100 else str(value)):
        assert to_decimal(text, "f", negative_ok=True) == value
    assert opt_decimal(value, "f", negative_ok=True) == value
