"""How a Binance USDⓈ-M message is told (ranks: see ``gridledger.venues.detect``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.venues.detect import Detector

USDM_EVENTS = frozenset(
    {
        "ORDER_TRADE_UPDATE",
        "TRADE_LITE",
        "ACCOUNT_UPDATE",
        "MARGIN_CALL",
        "ACCOUNT_CONFIG_UPDATE",
        "STRATEGY_UPDATE",
        "GRID_UPDATE",
        "CONDITIONAL_ORDER_TRIGGER_REJECT",
    }
)


def _usdm_event(p: Mapping[str, Any]) -> bool:
    kind = p.get("e")
    return type(kind) is str and kind in USDM_EVENTS


def _rest_row(p: Mapping[str, Any]) -> bool:
    return "orderId" in p and ("cumQuote" in p or "avgPrice" in p or "buyer" in p or "realizedPnl" in p)


DETECTORS = (
    Detector(10, _usdm_event),
    Detector(52, _rest_row),  # after Bybit's (51): Bybit rows also have avgPrice
)
