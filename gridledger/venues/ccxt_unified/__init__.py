"""ccxt unified order and trade structures: a message format, not a venue.

The live engine falls back to it for an exchange without a venue parser; it has no ccxt
id of its own, so it is never among the supported live venues.
"""

from __future__ import annotations

from gridledger.venues.ccxt_unified.detect import DETECTORS
from gridledger.venues.ccxt_unified.parse import parse_ccxt, parse_ccxt_order, parse_ccxt_trade
from gridledger.venues.venue import Venue

__all__ = ["VENUE", "parse_ccxt", "parse_ccxt_order", "parse_ccxt_trade"]

VENUE = Venue("ccxt", parse_ccxt, DETECTORS, markets=frozenset({"spot", "linear"}))
