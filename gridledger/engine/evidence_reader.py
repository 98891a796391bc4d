"""Turn what a ccxt exchange object returns into ledger evidence.

ccxt's ``watch_orders`` cache merges updates last-write-wins and, for Binance, adds each
trade event's fee to the cached order without checking the trade id, so a replayed message
inflates the order's fee (corpus README §4). The ledger therefore never reads ccxt's merged
fields when a venue parser exists: it parses each structure's ``info``, the venue's own
payload for that one message. Only venues without a parser fall back to the unified fields.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any, Mapping

from gridledger.domain.instrument import Instrument
from gridledger.ledger.evidence import Parsed
from gridledger.ledger.normalize import parse_ccxt_order, parse_ccxt_trade, parse_message

log = logging.getLogger("gridledger.engine")

# ccxt exchange id -> the parser of its raw payloads. "sim" speaks Binance spot's formats.
VENUE_FORMATS: dict[str, str] = {
    "binance": "binance-spot",
    "binanceus": "binance-spot",
    "binanceusdm": "binance-usdm",
    "okx": "okx",
    "bybit": "bybit",
    "sim": "binance-spot",
}

# Venues whose order stream carries every fill (Binance executionReport has the last trade
# in each message): subscribing to the trade stream too would only deliver duplicates.
ORDER_STREAM_HAS_TRADES = {"binance-spot", "binance-usdm"}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return repr(value)


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=_default)


class EvidenceReader:
    def __init__(self, exchange_id: str, instrument: Instrument) -> None:
        self.fmt = VENUE_FORMATS.get(exchange_id)
        self.instrument = instrument
        if self.fmt is None:
            log.warning("no venue parser for this exchange: evidence comes from ccxt's unified fields",
                        extra={"fields": {"exchange": exchange_id}})

    @property
    def needs_trade_stream(self) -> bool:
        return self.fmt not in ORDER_STREAM_HAS_TRADES

    def _raw(self, structure: Mapping[str, Any]) -> Any:
        info = structure.get("info")
        if self.fmt is not None and isinstance(info, (dict, list)) and info:
            return info
        return None

    def read_order(self, order: Mapping[str, Any], source: str) -> tuple[str, Parsed]:
        info = self._raw(order)
        if info is not None:
            return dump(info), parse_message(info, self.fmt or "auto", self.instrument, source=source)
        return dump(order), parse_ccxt_order(order, self.instrument, source)

    def read_trade(self, trade: Mapping[str, Any], source: str) -> tuple[str, Parsed]:
        info = self._raw(trade)
        if info is not None:
            return dump(info), parse_message(info, self.fmt or "auto", self.instrument, source=source)
        return dump(trade), parse_ccxt_trade(trade, self.instrument, source)
