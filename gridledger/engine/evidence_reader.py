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
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridledger.domain.instrument import Instrument
from gridledger.ledger.evidence import Parsed
from gridledger.venues import parse_ccxt_order, parse_ccxt_trade, parse_message
from gridledger.venues.registry import venue_for_exchange

log = logging.getLogger("gridledger.engine")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return repr(value)


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=_default)


class EvidenceReader:
    def __init__(self, exchange_id: str, instrument: Instrument) -> None:
        venue = venue_for_exchange(exchange_id)  # the registry says which parser reads its payloads
        self.fmt = venue.name if venue is not None else None
        # Binance's executionReport carries each fill: subscribing to the trade stream too
        # would only deliver duplicates. Without a venue parser, both streams are read.
        self._order_stream_has_trades = venue is not None and venue.order_stream_has_trades
        self.instrument = instrument
        if venue is None:
            log.warning(
                "no venue parser for this exchange: evidence comes from ccxt's unified fields",
                extra={"fields": {"exchange": exchange_id}},
            )

    @property
    def needs_trade_stream(self) -> bool:
        return not self._order_stream_has_trades

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
