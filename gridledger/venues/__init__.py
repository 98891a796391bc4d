"""Exchange messages → ledger evidence (``OrderEvidence`` / ``TradeEvidence``), one package per venue.

Each venue package (``binance_spot/``, ``okx/``, ...) holds a pure parser (``parse.py``),
its format-detection rules (``detect.py``) and its ``VENUE`` declaration; ``registry.py``
lists them, one line each. The public entry point is ``parse_message``.

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

from typing import Any

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.ledger.evidence import Parsed
from gridledger.venues.binance_spot import parse_binance_spot
from gridledger.venues.binance_usdm import parse_binance_usdm
from gridledger.venues.bybit import parse_bybit
from gridledger.venues.ccxt_unified import parse_ccxt, parse_ccxt_order, parse_ccxt_trade
from gridledger.venues.common import EMPTY_LIST
from gridledger.venues.okx import parse_okx
from gridledger.venues.registry import VENUES, detect_format, format_names, venue_named
from gridledger.venues.venue import Parser

__all__ = [
    "FORMATS",
    "VENUE_PARSERS",
    "detect_format",
    "parse_binance_spot",
    "parse_binance_usdm",
    "parse_bybit",
    "parse_ccxt",
    "parse_ccxt_order",
    "parse_ccxt_trade",
    "parse_message",
    "parse_okx",
]

# The built-in formats, for callers that list them (tests, benchmarks). Code that must follow
# the registry (parse_message, the CLI, the engine) asks gridledger.venues.registry instead.
FORMATS: tuple[str, ...] = ("auto", *format_names())
VENUE_PARSERS: dict[str, Parser] = {venue.name: venue.parse for venue in VENUES}


def parse_message(payload: Any, fmt: str, instrument: Instrument, *, source: str = "") -> Parsed:
    """Parse one decoded message of format ``fmt`` (``auto`` or a registered format name).

    ``payload`` is decoded JSON (numbers as ``Decimal``, int or str); a list yields the
    items of every element. ``source`` is copied into every item.
    """
    if fmt == "auto":
        if isinstance(payload, list) and not payload:
            return Parsed((), EMPTY_LIST)
        fmt = detect_format(payload)
    venue = venue_named(fmt) if type(fmt) is str else None
    if venue is None:
        names = ", ".join(("auto", *format_names()))
        raise InputError(f"unknown message format {fmt!r}; expected one of {names}")
    return venue.parse(payload, instrument, source)
