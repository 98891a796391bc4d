"""Binance USDⓈ-M futures: ``ORDER_TRADE_UPDATE``, ``TRADE_LITE`` and REST answers."""

from __future__ import annotations

from gridledger.venues.binance_usdm.detect import DETECTORS
from gridledger.venues.binance_usdm.parse import parse_binance_usdm
from gridledger.venues.venue import Venue

__all__ = ["VENUE", "parse_binance_usdm"]

# ORDER_TRADE_UPDATE carries the last trade of each update: the order stream has every fill.
VENUE = Venue(
    "binance-usdm",
    parse_binance_usdm,
    DETECTORS,
    markets=frozenset({"linear"}),
    ccxt_ids=("binanceusdm",),
    other_ids=("simusdm",),  # the paper simulator's perpetual speaks USDⓈ-M's formats
    order_stream_has_trades=True,
)
