"""Exact decimal parsing for prices, sizes and fees.

Money and size are ``Decimal`` everywhere. Inputs come as strings (ccxt with
``exchange.number = str``, JSON parsed with ``parse_float=Decimal``) or ints; a float that
slips through is converted through ``str`` so its shortest repr is kept, never its binary
expansion.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)
ONE = Decimal(1)
# No price, size or fee is below 1e-40 or above 1e40; beyond that an input is garbage.
_MAX_EXPONENT = 40


class InputError(ValueError):
    """Malformed input: the message says which field and why."""


def to_decimal(value: Any, field: str, *, negative_ok: bool = False) -> Decimal:
    """Parse a required, finite decimal; negative values only where ``negative_ok``."""
    result = opt_decimal(value, field, negative_ok=negative_ok)
    if result is None:
        raise InputError(f"{field} is missing")
    return result


def opt_decimal(value: Any, field: str, *, negative_ok: bool = False) -> Decimal | None:
    """Parse an optional decimal: ``None`` and ``""`` mean absent."""
    kind = type(value)
    if kind is str:
        if not value:
            return None
        if "_" in value:  # Decimal() reads "1_000"; no exchange writes numbers that way
            raise InputError(f"{field} is not a number: {value!r}")
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise InputError(f"{field} is not a number: {value!r}") from None
    elif kind is Decimal:
        result = value
    elif value is None:
        return None
    elif kind is int:
        result = Decimal(value)
    elif kind is float:
        result = Decimal(repr(value))
    elif isinstance(value, bool):
        raise InputError(f"{field} is a boolean, not a number: {value!r}")
    else:
        raise InputError(f"{field} has type {type(value).__name__}, not a number: {value!r}")
    if not result.is_finite():
        raise InputError(f"{field} is not finite: {value!r}")
    if result < 0 and not negative_ok:
        raise InputError(f"{field} is negative: {value!r}")
    if result and not -_MAX_EXPONENT <= result.adjusted() <= _MAX_EXPONENT:
        # 1e999999999 parses, then overflows the first arithmetic that touches it.
        raise InputError(f"{field} is out of range: {value!r}")
    return result


def fmt(value: Decimal | None) -> str | None:
    """Render a decimal for humans and JSON: no exponent, no trailing zeros."""
    if value is None:
        return None
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def quantize_down(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` down to a multiple of ``step`` (exchange amount precision)."""
    if step <= 0:
        return value
    return (value // step) * step
