"""Exchange messages → ledger evidence (``OrderEvidence`` / ``TradeEvidence``).

The field table implemented here is the corpus README (§2 field map, §3 stream
behaviour, §4 ccxt structures, §5 edge cases); each parser module cites the rows it
implements. Common rules:

- every number goes through ``to_decimal``/``opt_decimal`` (no floats; NaN, infinities,
  booleans and negative sizes are ``InputError``; fees may be negative = rebate);
- ids are ``str``; an empty client id is ``None``;
- quantities are base units (venue contracts × ``instrument.contract_size``), costs quote;
- ``symbol`` is ``instrument.unify(venue id)``: another market keeps its venue id and is
  rejected by the ledger, not here. Venue ids collide across market kinds (Bybit
  ``BTCUSDT`` is spot and linear), so where the message says its kind (Binance stream,
  OKX ``instType``, Bybit ``category``) a message for the other kind is not unified;
- a valid message that is not order evidence returns ``Parsed((), skipped=reason)``;
  malformed input raises ``InputError`` naming the field.
"""

from __future__ import annotations

from typing import Any, Callable

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.ledger.evidence import Parsed
from gridledger.ledger.normalize._common import EMPTY_LIST
from gridledger.ledger.normalize.binance_spot import parse_binance_spot
from gridledger.ledger.normalize.binance_usdm import parse_binance_usdm
from gridledger.ledger.normalize.bybit import parse_bybit
from gridledger.ledger.normalize.ccxt_unified import parse_ccxt, parse_ccxt_order, parse_ccxt_trade
from gridledger.ledger.normalize.detect import detect_format
from gridledger.ledger.normalize.okx import parse_okx

__all__ = [
    "FORMATS",
    "VENUE_PARSERS",
    "parse_message",
    "detect_format",
    "parse_ccxt",
    "parse_ccxt_order",
    "parse_ccxt_trade",
    "parse_binance_spot",
    "parse_binance_usdm",
    "parse_okx",
    "parse_bybit",
]

FORMATS = ("auto", "ccxt", "binance-spot", "binance-usdm", "okx", "bybit")

# Format name → parser(payload, instrument, source="") -> Parsed ("auto" is not a parser:
# it picks one of these through detect_format).
VENUE_PARSERS: dict[str, Callable[..., Parsed]] = {
    "ccxt": parse_ccxt,
    "binance-spot": parse_binance_spot,
    "binance-usdm": parse_binance_usdm,
    "okx": parse_okx,
    "bybit": parse_bybit,
}


def parse_message(payload: Any, fmt: str, instrument: Instrument, *, source: str = "") -> Parsed:
    """Parse one decoded message of format ``fmt`` (one of ``FORMATS``).

    ``payload`` is decoded JSON (numbers as ``Decimal``, int or str); a list yields the
    items of every element. ``source`` is copied into every item.
    """
    if fmt == "auto":
        if isinstance(payload, list) and not payload:
            return Parsed((), EMPTY_LIST)
        fmt = detect_format(payload)
    parser = VENUE_PARSERS.get(fmt) if type(fmt) is str else None
    if parser is None:
        raise InputError(f"unknown message format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return parser(payload, instrument, source)
