"""What a venue (or a message format) declares about itself, once, in its own package.

Everything the shell needs to know about a venue is here, so the CLI's ``--format``
choices, format detection, the live settings and the engine's evidence reader are derived
from the registry (``gridledger.venues.registry``) and never list venues themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gridledger.domain.instrument import Instrument
from gridledger.ledger.evidence import Parsed
from gridledger.venues.detect import Detector

__all__ = ["MARKET_KINDS", "Parser", "Venue"]

# parser(payload, instrument, source) -> Parsed: pure, no I/O; malformed input raises
# InputError naming the field, a valid message that is not evidence is Parsed((), reason).
Parser = Callable[[Any, Instrument, str], Parsed]

# The market kinds an Instrument can be (Instrument.kind).
MARKET_KINDS = frozenset({"spot", "linear"})


@dataclass(frozen=True, slots=True)
class Venue:
    """One venue's declaration.

    ``name`` is the ``--format`` name of its messages. ``ccxt_ids`` are the ccxt exchange
    ids that trade on it (live): a pure message format such as ccxt's unified structures has
    none. ``other_ids`` are exchange ids outside ccxt whose raw payloads are in this format
    (the paper simulator ``sim`` speaks Binance spot). ``order_stream_has_trades``: every
    fill arrives in the order stream (Binance ``executionReport``), so the engine does not
    subscribe to the trade stream too (it would only deliver duplicates).
    ``needs_passphrase``: the API key comes with a third secret (OKX).
    """

    name: str
    parse: Parser
    detectors: tuple[Detector, ...]
    markets: frozenset[str]
    ccxt_ids: tuple[str, ...] = ()
    other_ids: tuple[str, ...] = ()
    order_stream_has_trades: bool = False
    needs_passphrase: bool = False

    @property
    def is_format_only(self) -> bool:
        """A message format, not a place to trade (no ccxt id)."""
        return not self.ccxt_ids
