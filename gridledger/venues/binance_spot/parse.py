"""Binance Spot: user-data ``executionReport`` and the REST order/trade answers.

Field table: corpus README §2, column "Binance Spot executionReport"; ordering and
gap-filling notes: §3 "Binance Spot"; edge cases §5 (1)-(3).

Message shapes handled (a list payload yields the items of every element):

- WebSocket-API envelope ``{"subscriptionId": N, "event": {...}}`` and the bare
  listenKey-era event: identical evidence (§3, the envelope only wraps the event).
- ``executionReport`` → ``OrderEvidence`` (cumulative) and, for ``x == TRADE``, a
  ``TradeEvidence`` put first.
- ``outboundAccountPosition``, ``balanceUpdate``, ``listStatus``, ``listenKeyExpired``,
  ``eventStreamTerminated`` (and ``externalLockUpdate``, ``serverShutdown``) → skipped.
- REST: POST /api/v3/order (ACK, RESULT, FULL), DELETE /api/v3/order, GET order /
  openOrders / allOrders rows, myTrades rows, PUT order/amend/keepPriority.
- ``{"code": -2011, "msg": ...}`` error answers → ``InputError`` carrying the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.domain.types import OrderStatus, Side
from gridledger.ledger.evidence import OrderEvidence, Parsed, TradeEvidence
from gridledger.venues.common import (
    each,
    fee_pair,
    guarded,
    is_map,
    lookup_status,
    need_map,
    opt_client_id,
    opt_decimal,
    opt_id,
    opt_side,
    opt_ts,
    price_or_none,
    req_id,
    req_str,
    show,
    symbol_of,
    to_decimal,
    to_price,
)

__all__ = ["STATUS", "parse_binance_spot"]

_NEW = OrderStatus.NEW
_PARTIAL = OrderStatus.PARTIALLY_FILLED

# corpus README §2 row (c). PENDING_CANCEL maps to None here and is resolved by the
# cumulative fill: it is not terminal, the order may still trade.
STATUS: dict[str, OrderStatus | None] = {
    "NEW": _NEW,
    "PENDING_NEW": _NEW,
    "PARTIALLY_FILLED": _PARTIAL,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": None,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}

_SKIP_EVENTS: dict[str, str] = {
    e: f"binance-spot {e} event (not order evidence)"
    for e in (
        "outboundAccountPosition",
        "balanceUpdate",
        "listStatus",
        "listenKeyExpired",
        "eventStreamTerminated",
        "externalLockUpdate",
        "serverShutdown",
    )
}

# Labels (built once; errors name the venue field and what it means).
_ER = "executionReport field "
ER_I = _ER + "i (order id)"
ER_X = _ER + "X (order status)"
ER_XT = _ER + "x (execution type)"
ER_S = _ER + "s (symbol)"
ER_SIDE = _ER + "S (side)"
ER_CC = _ER + "c (client order id)"
ER_CO = _ER + "C (original client order id)"
ER_Q = _ER + "q (order quantity)"
ER_P = _ER + "p (order price)"
ER_Z = _ER + "z (cumulative filled)"
ER_ZQ = _ER + "Z (cumulative quote)"
ER_T = _ER + "T (transaction time)"
ER_EID = _ER + "I (execution id)"
ER_TID = _ER + "t (trade id)"
ER_L = _ER + "l (last filled)"
ER_LP = _ER + "L (last price)"
ER_Y = _ER + "Y (last quote)"
ER_N = _ER + "n (commission)"
ER_NA = _ER + "N (commission asset)"

_RO = "binance-spot order field "
RO_ID = _RO + "orderId (order id)"
RO_SYM = _RO + "symbol"
RO_STATUS = _RO + "status"
RO_SIDE = _RO + "side"
RO_CID = _RO + "clientOrderId"
RO_OCID = _RO + "origClientOrderId"
RO_QTY = _RO + "origQty (order quantity)"
RO_AQTY = _RO + "qty (order quantity)"
RO_PX = _RO + "price"
RO_EXEC = _RO + "executedQty (cumulative filled)"
RO_COST = _RO + "cummulativeQuoteQty (cumulative quote)"
RO_ACOST = _RO + "cumulativeQuoteQty (cumulative quote)"
RO_TS = _RO + "updateTime/transactTime (time)"

_RF = "binance-spot fills[] field "
RF_TID = _RF + "tradeId (trade id)"
RF_QTY = _RF + "qty"
RF_PX = _RF + "price"
RF_FEE = _RF + "commission"
RF_FEEA = _RF + "commissionAsset"

_RT = "binance-spot myTrades field "
RT_BUYER = _RT + "isBuyer (side)"


def _nonzero(value: Decimal | None) -> Decimal | None:
    """An order quantity of 0 means "not in base units" (quote-sized market orders carry
    their size in ``Q`` / ``origQuoteOrderQty``), i.e. unknown, not an order for nothing."""
    return value if value else None


def execution_report(ev: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    """One ``executionReport`` (corpus README §2 column 1).

    - order id ``i`` (row (a)); client id ``c``, except on cancel events where ``c`` is the
      cancel request's id and ``C`` the original (row (b), §5.3);
    - status ``X`` (row (c)); cumulative ``z``/``Z`` (row (d)); ``fees=None`` because ``n``/``N``
      are the last trade's commission, not cumulative (row (h));
    - ``event_id = I``: the four reports of the FAQ order share ``E`` and ``T``, only ``I``
      tells them apart (row (g), §5.2);
    - a trade for ``x == TRADE`` with ``t != -1`` (rows e, f), first in ``items``.
    """
    order_id = req_id(ev.get("i"), ER_I)
    exec_type = req_str(ev.get("x"), ER_XT)
    symbol = symbol_of(ev.get("s"), ER_S, instrument, True)
    filled = to_decimal(ev.get("z"), ER_Z)
    status = lookup_status(STATUS, ev.get("X"), ER_X)
    if status is None:  # PENDING_CANCEL
        status = _PARTIAL if filled else _NEW
    original = ev.get("C") if exec_type == "CANCELED" else None
    if original is not None and original != "":
        client_id = opt_client_id(original, ER_CO)
    else:
        client_id = opt_client_id(ev.get("c"), ER_CC)
    side = opt_side(ev.get("S"), ER_SIDE)
    timestamp = opt_ts(ev.get("T"), ER_T)
    order = OrderEvidence(
        symbol=symbol,
        order_id=order_id,
        client_id=client_id,
        status=status,
        side=side,
        amount=_nonzero(opt_decimal(ev.get("q"), ER_Q)),
        price=price_or_none(ev.get("p"), ER_P),
        filled=filled,
        cost=opt_decimal(ev.get("Z"), ER_ZQ),
        fees=None,
        timestamp=timestamp,
        event_id=opt_id(ev.get("I"), ER_EID),
        source=source,
    )
    if exec_type != "TRADE":
        return Parsed((order,))
    trade_id = ev.get("t")
    if trade_id == -1 or trade_id == "-1":
        return Parsed((order,))
    amount = to_decimal(ev.get("l"), ER_L)
    price = to_price(ev.get("L"), ER_LP)
    cost = opt_decimal(ev.get("Y"), ER_Y)
    trade = TradeEvidence(
        symbol=symbol,
        order_id=order_id,
        client_id=client_id,
        trade_id=req_id(trade_id, ER_TID),
        side=side,
        amount=amount,
        price=price,
        cost=cost if cost else amount * price,
        fees=fee_pair(ev.get("n"), ev.get("N"), ER_N, ER_NA),
        timestamp=timestamp,
        source=source,
    )
    return Parsed((trade, order))


def _event(ev: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    kind = ev.get("e")
    if kind == "executionReport":
        return execution_report(ev, instrument, source)
    if type(kind) is str and kind in _SKIP_EVENTS:
        return Parsed((), _SKIP_EVENTS[kind])
    raise InputError(f"unknown binance-spot event type in field e: {show(kind)}")


def _client_of(row: Mapping[str, Any]) -> str | None:
    """DELETE (and amend) answers carry the order's own id in ``origClientOrderId``;
    their ``clientOrderId`` is the cancel request's id (corpus binance_spot_rest_responses,
    DELETE /api/v3/order)."""
    original = row.get("origClientOrderId")
    if original is not None and original != "":
        return opt_client_id(original, RO_OCID)
    return opt_client_id(row.get("clientOrderId"), RO_CID)


def _order_time(row: Mapping[str, Any]) -> int | None:
    for key in ("updateTime", "transactTime", "workingTime", "time"):
        value = row.get(key)
        if value is not None:
            return opt_ts(value, RO_TS)
    return None


def rest_order(row: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    """POST/DELETE/GET /api/v3/order, openOrders and allOrders rows, amend's ``amendedOrder``.

    Without ``status`` the row is an ACK that only links ``orderId`` and
    ``clientOrderId`` (status ``None``). FULL answers also give one trade per ``fills[]``
    entry (trade ids, commission per trade), put before the order.
    """
    order_id = req_id(row.get("orderId"), RO_ID)
    symbol = symbol_of(row.get("symbol"), RO_SYM, instrument, True)
    client_id = _client_of(row)
    timestamp = _order_time(row)
    raw_status = row.get("status")
    if raw_status is None:
        return Parsed(
            (
                OrderEvidence(
                    symbol=symbol,
                    order_id=order_id,
                    client_id=client_id,
                    status=None,
                    side=opt_side(row.get("side"), RO_SIDE),
                    timestamp=timestamp,
                    source=source,
                ),
            )
        )
    filled = to_decimal(row.get("executedQty"), RO_EXEC)
    status = lookup_status(STATUS, raw_status, RO_STATUS)
    if status is None:  # PENDING_CANCEL
        status = _PARTIAL if filled else _NEW
    if "cummulativeQuoteQty" in row:
        cost = opt_decimal(row.get("cummulativeQuoteQty"), RO_COST, negative_ok=True)
    else:  # amend answers spell it correctly
        cost = opt_decimal(row.get("cumulativeQuoteQty"), RO_ACOST, negative_ok=True)
    if cost is not None and cost < 0:
        # Binance REST docs: for some historical orders cummulativeQuoteQty is < 0,
        # "meaning the data is not available at this time" → unknown, not negative.
        cost = None
    if "origQty" in row:
        amount = opt_decimal(row.get("origQty"), RO_QTY)
    else:
        amount = opt_decimal(row.get("qty"), RO_AQTY)
    side = opt_side(row.get("side"), RO_SIDE)
    order = OrderEvidence(
        symbol=symbol,
        order_id=order_id,
        client_id=client_id,
        status=status,
        side=side,
        amount=_nonzero(amount),
        price=price_or_none(row.get("price"), RO_PX),
        filled=filled,
        cost=cost,
        fees=None,
        timestamp=timestamp,
        source=source,
    )
    fills = row.get("fills")
    if not fills:
        return Parsed((order,))
    if not isinstance(fills, list):
        raise InputError(f"binance-spot order field fills must be a list, got {show(fills)}")
    items: list[OrderEvidence | TradeEvidence] = []
    for fill in fills:
        fill = need_map(fill, "binance-spot order fills[] entry")
        amount_f = to_decimal(fill.get("qty"), RF_QTY)
        price_f = to_price(fill.get("price"), RF_PX)
        items.append(
            TradeEvidence(
                symbol=symbol,
                order_id=order_id,
                client_id=client_id,
                trade_id=req_id(fill.get("tradeId"), RF_TID),
                side=side,
                amount=amount_f,
                price=price_f,
                cost=amount_f * price_f,
                fees=fee_pair(fill.get("commission"), fill.get("commissionAsset"), RF_FEE, RF_FEEA),
                timestamp=timestamp,
                source=source,
            )
        )
    items.append(order)
    return Parsed(tuple(items))


def my_trade(row: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    """GET /api/v3/myTrades row: ``id`` is the stream's ``t``, ``orderId`` its ``i``; the
    row has no client id."""
    buyer = row.get("isBuyer")
    if buyer is True:
        side = Side.BUY
    elif buyer is False:
        side = Side.SELL
    else:
        raise InputError(f"{RT_BUYER} must be true or false, got {show(buyer)}")
    return rest_trade_row(row, side, _RT, True, instrument, source)


def rest_trade_row(
    row: Mapping[str, Any], side: Side, label: str, spot: bool, instrument: Instrument, source: str
) -> Parsed:
    """The fields Binance's spot myTrades and USDⓈ-M userTrades rows share (id, orderId, qty,
    price, quoteQty, commission, commissionAsset, time); ``label`` prefixes error messages."""
    amount = to_decimal(row.get("qty"), label + "qty")
    price = to_price(row.get("price"), label + "price")
    cost = opt_decimal(row.get("quoteQty"), label + "quoteQty")
    return Parsed(
        (
            TradeEvidence(
                symbol=symbol_of(row.get("symbol"), label + "symbol", instrument, spot),
                order_id=req_id(row.get("orderId"), label + "orderId (order id)"),
                client_id=None,
                trade_id=req_id(row.get("id"), label + "id (trade id)"),
                side=side,
                amount=amount,
                price=price,
                cost=cost if cost is not None else amount * price,
                fees=fee_pair(
                    row.get("commission"), row.get("commissionAsset"), label + "commission", label + "commissionAsset"
                ),
                timestamp=opt_ts(row.get("time"), label + "time"),
                source=source,
            ),
        )
    )


def raise_binance_error(payload: Mapping[str, Any], venue: str) -> None:
    """``{"code": -2011, "msg": "Unknown order sent."}``: an error answer, not evidence."""
    code = payload.get("code")
    if type(code) is int and "msg" in payload:
        raise InputError(f"{venue} error {code}: {show(payload.get('msg'), 200)}")


def _one(payload: Any, instrument: Instrument, source: str) -> Parsed:
    if not is_map(payload):
        raise InputError(
            f"binance-spot message must be a JSON object or list, got {type(payload).__name__}: {show(payload)}"
        )
    if "e" in payload:
        return _event(payload, instrument, source)
    if "subscriptionId" in payload and "event" in payload:
        return _event(need_map(payload.get("event"), "binance-spot envelope field event"), instrument, source)
    if "orderId" in payload:
        if "isBuyer" in payload:
            return my_trade(payload, instrument, source)
        return rest_order(payload, instrument, source)
    amended = payload.get("amendedOrder")
    if amended is not None:
        return rest_order(need_map(amended, "binance-spot amend field amendedOrder"), instrument, source)
    raise_binance_error(payload, "binance-spot")
    raise InputError(f"not a binance-spot message (no e, event or orderId); keys: {show(list(payload)[:12], 200)}")


def _parse(payload: Any, instrument: Instrument, source: str) -> Parsed:
    if isinstance(payload, list):
        return each(payload, _one, instrument, source)
    return _one(payload, instrument, source)


@guarded
def parse_binance_spot(payload: Any, instrument: Instrument, source: str = "") -> Parsed:
    """Parse one Binance Spot stream event or REST answer (see the module docstring)."""
    return _parse(payload, instrument, source)
