"""How a Bybit v5 message is told (ranks: see ``gridledger.venues.detect``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.venues.detect import Detector


def _envelope(p: Mapping[str, Any]) -> bool:
    return "topic" in p or "op" in p or "retCode" in p  # pushes, control answers, REST


def _rest_row(p: Mapping[str, Any]) -> bool:
    return "orderId" in p and ("orderLinkId" in p or "orderStatus" in p or "execId" in p)


DETECTORS = (
    Detector(40, _envelope),
    Detector(51, _rest_row),  # before Binance USDⓈ-M's (52): Bybit rows also have avgPrice
)
