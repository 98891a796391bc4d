"""Binance USDⓈ-M REST order and trade payloads: "New Order", "Query Order", "Current All
Open Orders", "Account Trade List".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gridledger.exchange.sim.binance_format import fmt8
from gridledger.exchange.sim.usdm_text import average_price, order_type, plain, price_text, tif
from gridledger.exchange.sim.values import SimOrder, SimTrade

__all__ = ["open_order_row", "order_query", "order_response", "user_trade_row"]


def order_response(order: SimOrder, *, reduce_only: bool) -> dict[str, Any]:
    """``POST /fapi/v1/order`` and ``DELETE /fapi/v1/order`` response (RESULT type)."""
    return {
        "clientOrderId": order.client_order_id,
        "cumQty": plain(order.filled),
        "cumQuote": plain(order.cost),
        "executedQty": plain(order.filled),
        "orderId": order.order_id,
        "avgPrice": average_price(order),
        "origQty": plain(order.amount),
        "price": price_text(order),
        "reduceOnly": reduce_only,
        "side": order.side.value.upper(),
        "positionSide": "BOTH",
        "status": order.status.value,
        "stopPrice": "0",
        "closePosition": False,
        "symbol": order.symbol,
        "timeInForce": tif(order),
        "type": order_type(order),
        "origType": order_type(order),
        "updateTime": order.updated_ms,
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
    }


def order_query(order: SimOrder, *, reduce_only: bool) -> dict[str, Any]:
    """``GET /fapi/v1/order`` response (also a ``GET /fapi/v1/openOrders`` / ``allOrders`` row)."""
    return {
        "avgPrice": average_price(order),
        "clientOrderId": order.client_order_id,
        "cumQuote": plain(order.cost),
        "executedQty": plain(order.filled),
        "orderId": order.order_id,
        "origQty": plain(order.amount),
        "origType": order_type(order),
        "price": price_text(order),
        "reduceOnly": reduce_only,
        "side": order.side.value.upper(),
        "positionSide": "BOTH",
        "status": order.status.value,
        "stopPrice": "0",
        "closePosition": False,
        "symbol": order.symbol,
        "time": order.created_ms,
        "timeInForce": tif(order),
        "type": order_type(order),
        "updateTime": order.updated_ms,
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
    }


open_order_row = order_query


def user_trade_row(trade: SimTrade, realized_pnl: Decimal) -> dict[str, Any]:
    """One row of ``GET /fapi/v1/userTrades``; ``commission`` keeps its sign (negative: a rebate)."""
    return {
        "buyer": trade.side.value == "buy",
        "commission": fmt8(trade.fee),
        "commissionAsset": trade.fee_asset,
        "id": trade.trade_id,
        "maker": trade.is_maker,
        "orderId": trade.order_id,
        "price": plain(trade.price),
        "qty": plain(trade.amount),
        "quoteQty": plain(trade.quote_qty),
        "realizedPnl": fmt8(realized_pnl),
        "side": trade.side.value.upper(),
        "positionSide": "BOTH",
        "symbol": trade.symbol,
        "time": trade.ts_ms,
    }
