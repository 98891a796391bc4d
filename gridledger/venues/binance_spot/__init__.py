"""Binance spot: user-data ``executionReport`` and the REST order/trade answers."""

from __future__ import annotations

from gridledger.venues.binance_spot.detect import DETECTORS
from gridledger.venues.binance_spot.parse import parse_binance_spot
from gridledger.venues.venue import Venue

__all__ = ["VENUE", "parse_binance_spot"]

# "sim": the paper simulator speaks Binance spot's formats. executionReport carries the last
# trade of each update, so the order stream has every fill.
VENUE = Venue(
    "binance-spot",
    parse_binance_spot,
    DETECTORS,
    markets=frozenset({"spot"}),
    ccxt_ids=("binance", "binanceus"),
    other_ids=("sim",),
    order_stream_has_trades=True,
)
