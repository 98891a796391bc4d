"""Binance spot wire formats for the account and market data (``account``, ``exchangeInfo``,
the 24 h ticker and book ticker, REST and stream), rendered from the simulator's state.

Same conventions as :mod:`.binance_format` (published keys and key order, 8-decimal strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridledger.exchange.sim.binance_format import Q8, ZERO8, fmt8
from gridledger.exchange.sim.values import Balance, SimMarketSpec, TickerStats

# --- REST: account and market data -------------------------------------------------------------


def account(spec: SimMarketSpec, balances: Mapping[str, Balance], update_ms: int) -> dict[str, Any]:
    """``GET /api/v3/account`` response."""
    return {
        "makerCommission": int(spec.maker_fee * 10000),
        "takerCommission": int(spec.taker_fee * 10000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fmt8(spec.maker_fee),
            "taker": fmt8(spec.taker_fee),
            "buyer": ZERO8,
            "seller": ZERO8,
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": update_ms,
        "accountType": "SPOT",
        "balances": [{"asset": asset, "free": fmt8(b.free), "locked": fmt8(b.locked)} for asset, b in balances.items()],
        "permissions": ["SPOT"],
        "uid": 1,
    }


def exchange_info_symbol(spec: SimMarketSpec) -> dict[str, Any]:
    """One entry of ``GET /api/v3/exchangeInfo`` ``symbols``."""
    return {
        "symbol": spec.venue_id,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": False,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt8(spec.price_step),
                "maxPrice": "1000000.00000000",
                "tickSize": fmt8(spec.price_step),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt8(spec.min_amount),
                "maxQty": "9000.00000000",
                "stepSize": fmt8(spec.amount_step),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt8(spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def exchange_info(spec: SimMarketSpec, server_ms: int) -> dict[str, Any]:
    """``GET /api/v3/exchangeInfo`` response for the one simulated symbol."""
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [exchange_info_symbol(spec)],
    }


def _percent(change: Decimal, base: Decimal) -> str:
    if base == 0:
        return "0.000"
    return format((change * 100 / base).quantize(Decimal("0.001")), "f")


def ticker_24hr(stats: TickerStats) -> dict[str, Any]:
    """``GET /api/v3/ticker/24hr`` response for one symbol."""
    change = stats.last - stats.open
    vwap = stats.quote_volume / stats.volume if stats.volume else stats.last
    return {
        "symbol": stats.symbol,
        "priceChange": fmt8(change),
        "priceChangePercent": _percent(change, stats.open),
        "weightedAvgPrice": fmt8(vwap.quantize(Q8)),
        "prevClosePrice": fmt8(stats.prev_close),
        "lastPrice": fmt8(stats.last),
        "lastQty": fmt8(stats.last_qty),
        "bidPrice": fmt8(stats.bid),
        "bidQty": fmt8(stats.bid_qty),
        "askPrice": fmt8(stats.ask),
        "askQty": fmt8(stats.ask_qty),
        "openPrice": fmt8(stats.open),
        "highPrice": fmt8(stats.high),
        "lowPrice": fmt8(stats.low),
        "volume": fmt8(stats.volume),
        "quoteVolume": fmt8(stats.quote_volume.quantize(Q8)),
        "openTime": stats.open_time,
        "closeTime": stats.close_time,
        "firstId": stats.first_id,
        "lastId": stats.last_id,
        "count": stats.count,
    }


def book_ticker(stats: TickerStats) -> dict[str, Any]:
    """``GET /api/v3/ticker/bookTicker`` response for one symbol."""
    return {
        "symbol": stats.symbol,
        "bidPrice": fmt8(stats.bid),
        "bidQty": fmt8(stats.bid_qty),
        "askPrice": fmt8(stats.ask),
        "askQty": fmt8(stats.ask_qty),
    }


def ws_ticker_24hr(stats: TickerStats) -> dict[str, Any]:
    """``<symbol>@ticker`` stream event (``24hrTicker``)."""
    rest = ticker_24hr(stats)
    return {
        "e": "24hrTicker",
        "E": stats.event_ms,
        "s": stats.symbol,
        "p": rest["priceChange"],
        "P": rest["priceChangePercent"],
        "w": rest["weightedAvgPrice"],
        "x": rest["prevClosePrice"],
        "c": rest["lastPrice"],
        "Q": rest["lastQty"],
        "b": rest["bidPrice"],
        "B": rest["bidQty"],
        "a": rest["askPrice"],
        "A": rest["askQty"],
        "o": rest["openPrice"],
        "h": rest["highPrice"],
        "l": rest["lowPrice"],
        "v": rest["volume"],
        "q": rest["quoteVolume"],
        "O": stats.open_time,
        "C": stats.close_time,
        "F": stats.first_id,
        "L": stats.last_id,
        "n": stats.count,
    }
