"""Small helpers shared by the venue parsers.

Every helper takes a ready-made ``label`` ("executionReport field z (cumulative filled)")
so that an error names the field without building strings on the normal path; labels
are module constants in each parser.

The helpers type-check before any dict lookup or set membership: payloads are untrusted
JSON, and an unhashable value (a list where a string was expected) must become an
``InputError``, never a ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import (
    ZERO,
    InputError,
    exact,
    opt_decimal,
    opt_limit_price,
    to_decimal,
    to_price,
)
from gridledger.domain.numbers import show as _show
from gridledger.domain.types import OrderStatus, Side
from gridledger.ledger.evidence import Evidence, Fees, Parsed, make_fees

__all__ = [
    "EMPTY_LIST",
    "MAX_ID_CHARS",
    "MAX_TS_MS",
    "ZERO",
    "ParserFn",
    "collect",
    "each",
    "fee_pair",
    "fees_from_map",
    "guarded",
    "is_map",
    "lookup_status",
    "need_map",
    "opt_client_id",
    "opt_decimal",
    "opt_id",
    "opt_qty",
    "opt_side",
    "opt_ts",
    "price_or_none",
    "qty",
    "req_id",
    "req_str",
    "show",
    "symbol_of",
    "to_decimal",
    "to_price",
]

ParserFn = Callable[[Any, Instrument, str], Parsed]

# Reason for an empty list payload (GET openOrders with nothing open): valid, no evidence.
EMPTY_LIST = "empty list"

# Ids: Binance sends int64 ids, OKX 19-digit strings, Bybit 36-char UUIDs, client ids are
# at most 36 chars on every venue. 128 leaves room and keeps a junk id out of the journal.
MAX_ID_CHARS = 128
# Timestamps are integer milliseconds since the epoch; everything the parsers read is ms.
# 10**13 ms is the year 2286: a larger value is a unit mix-up (µs, ns) or junk, and an
# unbounded int would overflow SQLite's 64-bit integers (or, as 1E+999999, take half a
# minute of CPU to convert).
MAX_TS_MS = 10**13 - 1

_SIDES: dict[str, Side] = {
    "buy": Side.BUY,
    "BUY": Side.BUY,
    "Buy": Side.BUY,
    "sell": Side.SELL,
    "SELL": Side.SELL,
    "Sell": Side.SELL,
}


def show(value: object, limit: int = 60) -> str:
    """``repr`` cut short: junk payloads must not turn into megabyte error messages (and
    a huge str or int is never rendered whole, see ``numbers.show``)."""
    return _show(value, limit)


def is_map(value: object) -> bool:
    # dict first: the ABC check is ~4x slower and JSON decoders produce dicts.
    return isinstance(value, (dict, Mapping))


def need_map(value: object, label: str) -> Mapping[str, Any]:
    if isinstance(value, (dict, Mapping)):
        return value
    if value is None:
        raise InputError(f"{label} is missing")
    raise InputError(f"{label} must be a JSON object, got {type(value).__name__}: {show(value)}")


def req_id(value: object, label: str) -> str:
    """An exchange id as ``str``: Binance sends ints, OKX/Bybit strings."""
    # Exact type checks: a str or int subclass (a bool) is not an id.
    if type(value) is str:
        if value and len(value) <= MAX_ID_CHARS:
            return value
        if value:
            raise InputError(f"{label} is longer than {MAX_ID_CHARS} characters: {show(value)}")
        raise InputError(f"{label} is empty")
    if type(value) is int:
        if -(2**64) < value < 2**64:
            return str(value)
        raise InputError(f"{label} is out of range for an id: {show(value)}")
    if value is None:
        raise InputError(f"{label} is missing")
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value.adjusted() < 20  # bound first: int(Decimal("1E+999999")) takes ages
        and value == value.to_integral_value()
    ):
        # A caller decoding with parse_float=Decimal could hand us 12.0 for an int id.
        return str(int(value))
    raise InputError(f"{label} is not an id: {show(value)}")


def opt_id(value: object, label: str) -> str | None:
    if value is None or value == "":
        return None
    return req_id(value, label)


def opt_client_id(value: object, label: str) -> str | None:
    """Client ids: empty string means "none" (Binance ``C`` outside cancels, OKX ``clOrdId``)."""
    if value is None or value == "":
        return None
    return req_id(value, label)


def req_str(value: object, label: str) -> str:
    if type(value) is str and value:
        return value
    if value is None:
        raise InputError(f"{label} is missing")
    raise InputError(f"{label} must be a non-empty string, got {show(value)}")


def opt_ts(value: object, label: str) -> int | None:
    """Millisecond timestamps arrive as ints (Binance) or digit strings (OKX, Bybit).

    Bounded to ``0 .. MAX_TS_MS`` before any conversion: ``1E+5000`` used to be accepted,
    then failed the journal commit on every retry (R8, R10: bad input never stops the
    process), and ``1E+999999`` took 29 s of CPU to turn into an int.
    """
    if value is None or value == "":
        return None
    result: int
    # Exact type checks: a bool is an int subclass and must not pass for a timestamp.
    if type(value) is int:
        result = value
    elif type(value) is str:
        if not (len(value) <= 16 and value.isascii() and value.isdigit()):
            raise InputError(f"{label} is not a timestamp (integer milliseconds): {show(value)}")
        result = int(value)
    elif (
        isinstance(value, Decimal)
        and value.is_finite()
        and value.adjusted() < 16
        and value == value.to_integral_value()
    ):
        result = int(value)
    else:
        raise InputError(f"{label} is not a timestamp (integer milliseconds): {show(value)}")
    if not 0 <= result <= MAX_TS_MS:
        raise InputError(f"{label} is out of range (0 .. {MAX_TS_MS} ms since 1970): {show(value)}")
    return result


def opt_side(value: object, label: str) -> Side | None:
    if value is None or value == "":
        return None
    side = _SIDES.get(value) if type(value) is str else None
    if side is None:
        raise InputError(f"{label} must be buy or sell, got {show(value)}")
    return side


def lookup_status(table: Mapping[str, OrderStatus | None], value: object, label: str) -> OrderStatus | None:
    """Map a venue status through ``table``; unknown or non-string values are errors."""
    if type(value) is str and value in table:
        return table[value]
    if value is None:
        raise InputError(f"{label} is missing")
    raise InputError(f"unknown order status {show(value)} in {label}")


def symbol_of(value: object, label: str, instrument: Instrument, spot: bool | None = None) -> str:
    """Venue market id → unified symbol; a foreign market keeps its id (the ledger rejects it).

    ``spot`` says which kind of market the message is about when the venue tells
    (Binance spot vs USDⓈ-M stream, OKX ``instType``, Bybit ``category``). Venue ids
    collide across kinds (``BTCUSDT`` is both Bybit spot and linear, ``BTC-USDT`` is in
    the venue ids of ``BTC/USDT:USDT``), so a message for the other kind keeps its venue
    id instead of being unified into our symbol.
    """
    if type(value) is str and value:
        if len(value) > MAX_ID_CHARS:
            raise InputError(f"{label} is longer than {MAX_ID_CHARS} characters: {show(value)}")
        if spot is not None and spot != (instrument.settle is None):
            return value
        return instrument.unify(value)
    if value is None:
        raise InputError(f"{label} is missing")
    raise InputError(f"{label} must be a non-empty string, got {show(value)}")


def qty(value: object, label: str, mult: Decimal | None = None) -> Decimal:
    """A required non-negative quantity, times the contract size when ``mult`` is given."""
    result = to_decimal(value, label)
    return result if mult is None else result * mult


def opt_qty(value: object, label: str, mult: Decimal | None = None) -> Decimal | None:
    result = opt_decimal(value, label)
    if result is None or mult is None:
        return result
    return result * mult


def price_or_none(value: object, label: str) -> Decimal | None:
    """A limit price; 0 means "no price" (market orders report ``p = 0``); a non-zero
    price below ``numbers.MIN_PRICE`` is refused."""
    return opt_limit_price(value, label)


def fee_pair(amount: object, asset: object, amount_label: str, asset_label: str, *, flip: bool = False) -> Fees:
    """One fee in one asset as ``Fees``; zero gives ``()``. ``flip`` turns OKX's sign
    (negative = charged) into ours (positive = charged, negative = rebate)."""
    value = opt_decimal(amount, amount_label, negative_ok=True)
    if value is None or not value:
        return ()
    if flip:
        value = -value
    if type(asset) is not str or not asset:
        raise InputError(f"{asset_label} must name the fee asset when {amount_label} is non-zero, got {show(asset)}")
    return ((asset, value),)


def fees_from_map(value: object, label: str) -> Fees | None:
    """``{asset: amount}`` (Bybit ``cumFeeDetail``) → ``Fees``; empty → ``None`` (not carried)."""
    if value is None or value == "":
        return None
    detail = need_map(value, label)
    if not detail:
        return None
    pairs = []
    for asset, amount in detail.items():
        if type(asset) is not str or not asset:
            raise InputError(f"{label} has a bad asset name: {show(asset)}")
        pairs.append((asset, to_decimal(amount, f"{label}[{asset}]", negative_ok=True)))
    return make_fees(pairs)


def each(payload: list[Any] | tuple[Any, ...], one: ParserFn, instrument: Instrument, source: str) -> Parsed:
    """A list payload (GET openOrders, myTrades) yields the items of every element."""
    items: list[Evidence] = []
    reasons: list[str] = []
    for element in payload:
        parsed = one(element, instrument, source)
        if parsed.items:
            items.extend(parsed.items)
        elif parsed.skipped and parsed.skipped not in reasons:
            reasons.append(parsed.skipped)
    return collect(items, reasons)


def collect(items: list[Evidence], reasons: list[str]) -> Parsed:
    """Items if any; otherwise the skip reasons (``Parsed`` holds items *or* a reason)."""
    if items:
        return Parsed(tuple(items))
    if reasons:
        return Parsed((), "; ".join(reasons))
    return Parsed((), EMPTY_LIST)


def guarded(fn: ParserFn) -> ParserFn:
    """Turn arithmetic and conversion failures on junk input into ``InputError``.

    ``Decimal`` arithmetic on absurd exponents raises ``decimal.Overflow`` (an
    ``ArithmeticError``), and ``int``/``str`` refuse numbers longer than Python's digit
    limit with a plain ``ValueError``; both mean "malformed input", so callers only ever
    see ``InputError``. ``try`` costs nothing on the normal path (CPython 3.11+).
    """

    # Costs (amount x price, contracts x size) are exact: the default context would round
    # a product of two 40-digit inputs to 28 digits (R5).
    exact_fn = exact(fn)

    def wrapper(payload: Any, instrument: Instrument, source: str = "") -> Parsed:
        try:
            return exact_fn(payload, instrument, source)
        except InputError:
            raise
        except (ArithmeticError, ValueError) as exc:
            # str(exc) can quote the input (int() quotes up to 200 chars of it): keep it short.
            raise InputError(
                f"number out of range or unreadable: {type(exc).__name__}: {show(str(exc), 120)}"
            ) from None

    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper
