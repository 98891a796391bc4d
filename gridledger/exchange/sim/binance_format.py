"""Binance spot wire formats, rendered from the simulator's state.

Everything here mirrors the published Binance spot API (user-data-stream.md and rest-api.md
of binance-spot-api-docs): same keys, same key order, numbers as strings with 8 decimals,
ids as JSON integers, times as epoch milliseconds. The stream events are the raw (bare
listenKey) form, without the WebSocket-API ``{"subscriptionId", "event"}`` envelope; use
:func:`ws_api_envelope` to wrap one. The account and market-data payloads are in
:mod:`.binance_market`.

The simulator's amounts normally have at most 8 decimals (steps and commissions are chosen
so); a value with more decimals is rendered exactly rather than rounded, so that the wire
never disagrees with the ground truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from gridledger.exchange.sim.values import Balance, SimOrder, SimTrade

Q8 = Decimal("0.00000001")
ZERO8 = "0.00000000"


def fmt8(value: Decimal) -> str:
    """Binance's number rendering: fixed point, 8 decimals (more only if needed to be exact)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8 and value != value.quantize(Q8):
        return format(value, "f")
    return format(value.quantize(Q8), "f")


def error_body(code: int, msg: str) -> dict[str, Any]:
    """The JSON body of a Binance error response (HTTP 400)."""
    return {"code": code, "msg": msg}


def ws_api_envelope(event: Mapping[str, Any], subscription_id: int = 0) -> dict[str, Any]:
    """Wrap a raw event the way the WebSocket-API user data stream delivers it."""
    return {"subscriptionId": subscription_id, "event": dict(event)}


# --- user data stream ----------------------------------------------------------------------


def execution_report(
    order: SimOrder,
    *,
    exec_type: str,
    event_ms: int,
    exec_id: int,
    on_book: bool,
    trade: SimTrade | None = None,
) -> dict[str, Any]:
    """``executionReport`` for one execution of ``order`` (its state after the execution).

    On CANCELED, ``c`` is the cancel request's client id and ``C`` the order's own.
    Non-trade executions have ``t`` -1, ``n`` "0" and ``N`` null, like the published samples.
    """
    canceled = exec_type == "CANCELED"
    return {
        "e": "executionReport",
        "E": event_ms,
        "s": order.symbol,
        "c": order.cancel_client_id if canceled and order.cancel_client_id else order.client_order_id,
        "S": order.side.value.upper(),
        "o": order.venue_type,
        "f": order.time_in_force,
        "q": fmt8(order.amount),
        "p": fmt8(order.price) if order.price is not None else ZERO8,
        "P": ZERO8,
        "F": ZERO8,
        "g": -1,
        "C": order.client_order_id if canceled else "",
        "x": exec_type,
        "X": order.status.value,
        "r": "NONE",
        "i": order.order_id,
        "l": fmt8(trade.amount) if trade else ZERO8,
        "z": fmt8(order.filled),
        "L": fmt8(trade.price) if trade else ZERO8,
        "n": fmt8(trade.fee) if trade else "0",
        "N": trade.fee_asset if trade else None,
        "T": event_ms,
        "t": trade.trade_id if trade else -1,
        "I": exec_id,
        "w": on_book,
        "m": trade.is_maker if trade else False,
        "M": trade is not None,
        "O": order.created_ms,
        "Z": fmt8(order.cost),
        "Y": fmt8(trade.quote_qty) if trade else ZERO8,
        "Q": ZERO8,
        "W": order.created_ms,
        "V": "NONE",
    }


def account_position(event_ms: int, balances: Mapping[str, Balance]) -> dict[str, Any]:
    """``outboundAccountPosition``: the balances that changed, after the change."""
    return {
        "e": "outboundAccountPosition",
        "E": event_ms,
        "u": event_ms,
        "B": [{"a": asset, "f": fmt8(b.free), "l": fmt8(b.locked)} for asset, b in balances.items()],
    }


# --- REST: orders and trades -----------------------------------------------------------------


def _price(order: SimOrder) -> str:
    return fmt8(order.price) if order.price is not None else ZERO8


def order_full(order: SimOrder, fills: Sequence[SimTrade], transact_ms: int) -> dict[str, Any]:
    """``POST /api/v3/order`` response with ``newOrderRespType=FULL``."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": transact_ms,
        "price": _price(order),
        "origQty": fmt8(order.amount),
        "executedQty": fmt8(order.filled),
        "origQuoteOrderQty": ZERO8,
        "cummulativeQuoteQty": fmt8(order.cost),
        "status": order.status.value,
        "timeInForce": order.time_in_force,
        "type": order.venue_type,
        "side": order.side.value.upper(),
        "workingTime": order.created_ms,
        "selfTradePreventionMode": "NONE",
        "fills": [
            {
                "price": fmt8(t.price),
                "qty": fmt8(t.amount),
                "commission": fmt8(t.fee),
                "commissionAsset": t.fee_asset,
                "tradeId": t.trade_id,
            }
            for t in fills
        ],
    }


def order_cancel(order: SimOrder, transact_ms: int) -> dict[str, Any]:
    """``DELETE /api/v3/order`` response: ``clientOrderId`` is the cancel request's id."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.cancel_client_id or order.client_order_id,
        "transactTime": transact_ms,
        "price": _price(order),
        "origQty": fmt8(order.amount),
        "executedQty": fmt8(order.filled),
        "origQuoteOrderQty": ZERO8,
        "cummulativeQuoteQty": fmt8(order.cost),
        "status": order.status.value,
        "timeInForce": order.time_in_force,
        "type": order.venue_type,
        "side": order.side.value.upper(),
        "selfTradePreventionMode": "NONE",
    }


def order_query(order: SimOrder) -> dict[str, Any]:
    """``GET /api/v3/order`` response (also an ``allOrders`` row)."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": _price(order),
        "origQty": fmt8(order.amount),
        "executedQty": fmt8(order.filled),
        "cummulativeQuoteQty": fmt8(order.cost),
        "status": order.status.value,
        "timeInForce": order.time_in_force,
        "type": order.venue_type,
        "side": order.side.value.upper(),
        "stopPrice": ZERO8,
        "icebergQty": ZERO8,
        "time": order.created_ms,
        "updateTime": order.updated_ms,
        "isWorking": True,
        "workingTime": order.created_ms,
        "origQuoteOrderQty": ZERO8,
        "selfTradePreventionMode": "NONE",
    }


def open_order_row(order: SimOrder) -> dict[str, Any]:
    """One row of ``GET /api/v3/openOrders`` (key order as published)."""
    row = order_query(order)
    return {
        k: row[k]
        for k in (
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "price",
            "origQty",
            "executedQty",
            "cummulativeQuoteQty",
            "status",
            "timeInForce",
            "type",
            "side",
            "stopPrice",
            "icebergQty",
            "time",
            "updateTime",
            "isWorking",
            "origQuoteOrderQty",
            "workingTime",
            "selfTradePreventionMode",
        )
    }


def my_trade_row(trade: SimTrade) -> dict[str, Any]:
    """One row of ``GET /api/v3/myTrades``."""
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": fmt8(trade.price),
        "qty": fmt8(trade.amount),
        "quoteQty": fmt8(trade.quote_qty),
        "commission": fmt8(trade.fee),
        "commissionAsset": trade.fee_asset,
        "time": trade.ts_ms,
        "isBuyer": trade.side.value == "buy",
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }
