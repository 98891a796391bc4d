"""Exact decimal parsing for prices, sizes and fees, and the context ledger arithmetic runs in.

Money and size are ``Decimal`` everywhere. Inputs come as strings (ccxt with
``exchange.number = str``, JSON parsed with ``parse_float=Decimal``) or ints; a float that
slips through is converted through ``str`` so its shortest repr is kept, never its binary
expansion.

What a number from a venue may look like (anything else is an ``InputError`` naming the
field, rule R10):

- ASCII decimal syntax only: optional sign, digits, optional fraction, optional exponent.
  ``Decimal()`` alone also reads Arabic-Indic digits (``"١٢"`` is 12), surrounding
  whitespace (``" 0.001"``), underscores (``"1_000"``), ``"NaN"`` and ``"Infinity"``: no
  venue writes those, so they are garbage, not numbers.
- at most ``MAX_TEXT`` characters and ``MAX_DIGITS`` significant digits;
- a non-zero magnitude between ``1e-40`` and ``1e41`` (adjusted exponent in
  ``[-MAX_EXPONENT, MAX_EXPONENT]``); ints beyond 40 digits are refused before any
  conversion (``10**5000`` cannot even be printed by Python);
- prices (``to_price``) are positive and at least ``MIN_PRICE``.

Because every input is bounded, ledger arithmetic can be exact: ``LEDGER_CONTEXT`` has far
more precision than any sum of products of bounded inputs needs, and traps ``Inexact`` so a
violation of that bound is loud instead of a silent rounding (R5 "all arithmetic is exact").
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Subnormal,
    getcontext,
    setcontext,
)
from typing import Any, ParamSpec, TypeVar

ZERO = Decimal(0)
ONE = Decimal(1)

# Bounds on one input number. 40 significant digits is more than any venue sends (Binance
# 8 decimals, OKX/Bybit ~18 significant digits); 1e-40..1e41 covers every size, price and
# fee of a real market with a wide margin.
MAX_DIGITS = 40
MAX_EXPONENT = 40
# 40 digits, a sign, a point, an exponent and leading zeros of a tiny fraction fit in 100.
MAX_TEXT = 100
_INT_LIMIT = 10**MAX_DIGITS
# The lowest price accepted. The cheapest real markets quote around 1e-8 (SHIB/USDT ~1e-5,
# PEPE/BTC ~1e-10); 1e-20 leaves ten orders of magnitude of margin, while a price of 1e-40
# can only be garbage (it would turn any fill into a free one).
MIN_PRICE = Decimal("1e-20")

# Validates one parsed number in one call: ``plus`` under this context raises Inexact for
# more than MAX_DIGITS significant digits, Overflow above 1e41 and Subnormal below 1e-40.
# Zero is clamped to a sane exponent (0E-9999 → 0E-79) instead of raising.
_CHECK = Context(
    prec=MAX_DIGITS,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_EXPONENT,
    Emin=-MAX_EXPONENT,
    traps=[InvalidOperation, Inexact, Overflow, Subnormal, DivisionByZero],
)

# Ledger arithmetic (R5: exact decimal). Inputs have <= 40 digits within 1e-79..1e41, so a
# product spans < 260 digit positions and sums of products add a few more: 1000 digits of
# precision can never round. libmpdec's cost follows the operands' digits, not ``prec``, so
# the margin is free. Inexact is trapped: rounding would be a bug, and must not be silent.
LEDGER_PREC = 1000
LEDGER_CONTEXT = Context(
    prec=LEDGER_PREC,
    rounding=ROUND_HALF_EVEN,
    Emax=100_000,
    Emin=-100_000,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)

_P = ParamSpec("_P")
_R = TypeVar("_R")
_ASCII_END = frozenset("0123456789.")
_ASCII_START = frozenset("0123456789.+-")


class InputError(ValueError):
    """Malformed input: the message says which field and why."""


def exact(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` in ``LEDGER_CONTEXT`` (exact ledger arithmetic), then restore the caller's.

    Switched per call instead of set once at import: the decimal context is per thread and
    per asyncio task, so a global setting would silently not apply in a new thread, and
    would change the arithmetic of unrelated libraries. Each thread gets its own copy of the
    context (flags are per context); nested calls find it already current and skip the
    switch. Cost: ~0.5 µs per call (``decimal.localcontext`` costs twice that).
    """

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        saved = getcontext()
        ctx = _ledger_context()
        if saved is ctx:
            return fn(*args, **kwargs)
        setcontext(ctx)
        try:
            return fn(*args, **kwargs)
        finally:
            setcontext(saved)

    return wrapper


_THREAD = threading.local()


def _ledger_context() -> Context:
    try:
        ctx: Context = _THREAD.ctx  # threading.local attributes are untyped
        return ctx
    except AttributeError:
        ctx = _THREAD.ctx = LEDGER_CONTEXT.copy()
        return ctx


def show(value: object, limit: int = 40) -> str:
    """A short, safe rendering of a bad value for an error message.

    Never echoes more than ``limit`` characters of it (a 50 MB line must not become a 50 MB
    error message), and never calls ``repr`` on a huge int (Python refuses to print ints of
    more than 4300 digits, and takes quadratic time below that).
    """
    if type(value) is int and value.bit_length() > 128:
        return f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    if type(value) is str and len(value) > limit:
        text = repr(value[:limit])
        return f"{text}… ({len(value)} chars)"
    try:
        text = repr(value)
    except ValueError:  # a container holding an int too long to print
        return f"<unprintable {type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "…"


def _check(result: Decimal, field: str, value: object) -> Decimal:
    try:
        return _CHECK.plus(result)
    except ArithmeticError:
        pass
    if not -MAX_EXPONENT <= result.adjusted() <= MAX_EXPONENT:
        raise InputError(
            f"{field} is out of range (magnitude must be within 1e-{MAX_EXPONENT} .. 1e{MAX_EXPONENT + 1}): "
            f"{show(value)}"
        )
    raise InputError(f"{field} has more than {MAX_DIGITS} significant digits: {show(value)}")


def to_decimal(value: Any, field: str, *, negative_ok: bool = False) -> Decimal:
    """Parse a required, finite, bounded decimal; negative values only where ``negative_ok``."""
    result = opt_decimal(value, field, negative_ok=negative_ok)
    if result is None:
        raise InputError(f"{field} is missing")
    return result


def _parse_text(value: str, field: str) -> Decimal:
    """A non-empty string → a bounded Decimal, or InputError (module docstring)."""
    # Decimal() accepts more than venues write, so the syntax is checked first.
    if (
        len(value) > MAX_TEXT
        or not value.isascii()
        or value[0] not in _ASCII_START
        or value[-1] not in _ASCII_END
        or "_" in value
    ):
        if value[:10].lstrip("+-").lower().startswith(("nan", "snan", "inf")):
            raise InputError(f"{field} is not finite: {show(value)}")
        raise InputError(f"{field} is not a plain decimal number: {show(value)}")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise InputError(f"{field} is not a number: {show(value)}") from None
    if not result.is_finite():  # "-sNaN1" passes the character checks
        raise InputError(f"{field} is not finite: {show(value)}")
    if len(value) > MAX_DIGITS:
        return _check(result, field, value)  # may have too many digits
    if result:
        if not -MAX_EXPONENT <= result.adjusted() <= MAX_EXPONENT:
            return _check(result, field, value)  # raises with the reason
        return result
    return ZERO  # "0E-9999": no absurd exponent inside the ledger


# Text already read → its Decimal (immutable, so shared). Venue streams repeat the same
# strings all the time (grid prices, order sizes, "0", "0.00000000"), so a hit skips the
# checks and the conversion: the common case is faster than a bare Decimal(). Only valid
# numbers are kept; the dict is cleared when full, so its memory is bounded.
_SEEN: dict[str, Decimal] = {}
_SEEN_MAX = 4096


def opt_decimal(value: Any, field: str, *, negative_ok: bool = False) -> Decimal | None:
    """Parse an optional bounded decimal: ``None`` and ``""`` mean absent."""
    kind = type(value)
    if kind is str:
        result = _SEEN.get(value)
        if result is None:
            if not value:
                return None
            result = _parse_text(value, field)
            if len(_SEEN) >= _SEEN_MAX:
                _SEEN.clear()
            _SEEN[value] = result
    elif kind is Decimal:
        if not value.is_finite():
            raise InputError(f"{field} is not finite: {show(value)}")
        result = _check(value, field, value)
    elif value is None:
        return None
    elif kind is int:
        if not -_INT_LIMIT < value < _INT_LIMIT:
            raise InputError(f"{field} is out of range: {show(value)}")
        result = Decimal(value)
    elif kind is float:
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            raise InputError(f"{field} is not finite: {text}")
        result = _check(Decimal(text), field, value)
    elif isinstance(value, bool):
        raise InputError(f"{field} is a boolean, not a number: {value!r}")
    else:
        raise InputError(f"{field} has type {type(value).__name__}, not a number: {show(value)}")
    if result < 0 and not negative_ok:
        raise InputError(f"{field} is negative: {show(value)}")
    return result


def to_price(value: Any, field: str) -> Decimal:
    """A required execution price: positive and at least ``MIN_PRICE``.

    A fill at price 0 or 1e-40 is not a trade any venue makes; accepting it would count a
    fill with no cost (R10: impossible numbers are REJECTED).
    """
    result = to_decimal(value, field, negative_ok=True)  # a negative price gets the price message
    if result < MIN_PRICE:
        raise InputError(f"{field} must be a positive price of at least {MIN_PRICE}: {show(value)}")
    return result


def opt_limit_price(value: Any, field: str) -> Decimal | None:
    """An order's limit price: absent or 0 mean "no price" (market orders report 0);
    otherwise the same bounds as ``to_price``."""
    result = opt_decimal(value, field, negative_ok=True)
    if result is None or not result:
        return None
    if result < MIN_PRICE:
        raise InputError(f"{field} must be 0 (no price) or a positive price of at least {MIN_PRICE}: {show(value)}")
    return result


def fmt(value: Decimal | None) -> str | None:
    """Render a decimal for humans and JSON: no exponent, no trailing zeros, no rounding."""
    if value is None:
        return None
    if value == 0:
        return "0"
    # normalize() rounds to the context's precision (28 digits by default): use the exact one.
    text = format(value.normalize(LEDGER_CONTEXT), "f")
    return text


def quantize_down(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` down to a multiple of ``step`` (exchange amount precision)."""
    if step <= 0:
        return value
    return (value // step) * step
