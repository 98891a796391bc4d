"""Decimals for people: normalised (no exponent, no trailing zeros) and, for quote amounts,
rounded to the market's precision, so a quotient like 69.981419618018018019 reads 69.98.

The ledger keeps exact values; only what is printed (status line, tables, reports,
notifications) goes through here. JSON keeps exact strings unless its producer says
otherwise.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

# Wide enough for any bounded ledger value (1e-40..1e41) at any number of places asked for.
_CTX = Context(prec=200, rounding=ROUND_HALF_EVEN)

# Places used when the market's precision is not known (replay has no market): enough for
# any real quote currency, few enough that a quotient does not print 18 digits.
DEFAULT_QUOTE_PLACES = 8


def places(step: Decimal | None) -> int | None:
    """The number of decimal places of a precision step (0.01 -> 2, 1 -> 0), or None."""
    if step is None or not step.is_finite() or step <= 0:
        return None
    exponent = step.normalize(_CTX).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def human(value: Decimal | str | int | None, digits: int | None = None) -> str:
    """``value`` normalised; rounded half-even to ``digits`` places when it has more.

    ``None`` and ``""`` print as ``""``; text that is not a number is returned unchanged."""
    if value is None or value == "":
        return ""
    try:
        d = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, ValueError):
        return str(value)
    if not d.is_finite():
        return str(d)
    if digits is not None:
        exponent = d.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > digits:
            d = d.quantize(Decimal(1).scaleb(-digits), context=_CTX)
    if not d:
        return "0"  # also -0 and 0E-8
    return format(d.normalize(_CTX), "f")


def quote(value: Decimal | str | int | None, step: Decimal | None = None) -> str:
    """A quote amount (price, cost, PnL, fee in quote) at the market's precision when known."""
    p = places(step)
    return human(value, DEFAULT_QUOTE_PLACES if p is None else p)


def grid_quote_step(anchor: Decimal | str | None, interval: Decimal | str | None) -> Decimal:
    """The quote precision to print with when the market's is not known (replay, reports):
    the finer of the grid's own prices (its levels sit on the market's tick, so the tick is
    at least as fine) and 0.01 (cents: no quote currency is printed coarser)."""
    digits = 2
    for value in (anchor, interval):
        if value is not None and value != "":
            p = places(Decimal(value))
            if p is not None:
                digits = max(digits, p)
    return Decimal(1).scaleb(-digits)
