"""Binance USDⓈ-M REST market data payloads: "Mark Price", "Exchange Information", "24hr Ticker"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gridledger.exchange.sim.binance_format import fmt8
from gridledger.exchange.sim.perp_margin import to_decimal8
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.exchange.sim.usdm_text import plain
from gridledger.exchange.sim.values import TickerStats

__all__ = ["exchange_info", "exchange_info_symbol", "premium_index", "ticker_24hr"]


def premium_index(
    spec: PerpMarketSpec, mark: Decimal, rate: Decimal, next_funding_ms: int, now_ms: int
) -> dict[str, Any]:
    """``GET /fapi/v1/premiumIndex`` (mark price and funding) for one symbol."""
    return {
        "symbol": spec.venue_id,
        "markPrice": fmt8(mark),
        "indexPrice": fmt8(mark),
        "estimatedSettlePrice": fmt8(mark),
        "lastFundingRate": fmt8(rate),
        "interestRate": "0.00010000",
        "nextFundingTime": next_funding_ms,
        "time": now_ms,
    }


def ticker_24hr(stats: TickerStats) -> dict[str, Any]:
    """``GET /fapi/v1/ticker/24hr`` for one symbol (no bid/ask fields on USDⓈ-M)."""
    change = stats.last - stats.open
    vwap = stats.quote_volume / stats.volume if stats.volume else stats.last
    percent = "0.000" if not stats.open else format((change * 100 / stats.open).quantize(Decimal("0.001")), "f")
    return {
        "symbol": stats.symbol,
        "priceChange": plain(change),
        "priceChangePercent": percent,
        "weightedAvgPrice": plain(to_decimal8(vwap)),
        "lastPrice": plain(stats.last),
        "lastQty": plain(stats.last_qty),
        "openPrice": plain(stats.open),
        "highPrice": plain(stats.high),
        "lowPrice": plain(stats.low),
        "volume": plain(stats.volume),
        "quoteVolume": plain(to_decimal8(stats.quote_volume)),
        "openTime": stats.open_time,
        "closeTime": stats.close_time,
        "firstId": stats.first_id,
        "lastId": stats.last_id,
        "count": stats.count,
    }


def _places(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 8


def exchange_info_symbol(spec: PerpMarketSpec) -> dict[str, Any]:
    """One entry of ``GET /fapi/v1/exchangeInfo`` ``symbols`` (a perpetual contract)."""
    return {
        "symbol": spec.venue_id,
        "pair": spec.venue_id,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": plain(spec.maintenance_rate * 100),
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": spec.quote,
        "marginAsset": spec.settle,
        "pricePrecision": _places(spec.price_step),
        "quantityPrecision": _places(spec.amount_step),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": plain(spec.price_step),
                "maxPrice": "4529764",
                "tickSize": plain(spec.price_step),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": plain(spec.min_amount or spec.amount_step),
                "maxQty": "1000",
                "stepSize": plain(spec.amount_step),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": plain(spec.min_amount or spec.amount_step),
                "maxQty": "120",
                "stepSize": plain(spec.amount_step),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": plain(spec.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def exchange_info(spec: PerpMarketSpec, server_ms: int) -> dict[str, Any]:
    """``GET /fapi/v1/exchangeInfo`` for the one simulated symbol."""
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [],
        "exchangeFilters": [],
        "assets": [{"asset": spec.settle, "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [exchange_info_symbol(spec)],
    }
