"""Bybit v5: private ``order`` / ``execution`` topics and REST answers."""

from __future__ import annotations

from gridledger.venues.bybit.detect import DETECTORS
from gridledger.venues.bybit.parse import parse_bybit
from gridledger.venues.venue import Venue

__all__ = ["VENUE", "parse_bybit"]

# Fills arrive on the execution topic, not in the order topic.
VENUE = Venue(
    "bybit",
    parse_bybit,
    DETECTORS,
    markets=frozenset({"spot", "linear"}),
    ccxt_ids=("bybit",),
)
