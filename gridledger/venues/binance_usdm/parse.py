"""Binance USDⓈ-M futures: ``ORDER_TRADE_UPDATE``, ``TRADE_LITE`` and REST answers.

Field table: corpus README §2, column "Binance USDⓈ-M ORDER_TRADE_UPDATE (fields in o)";
stream notes §3 "Binance USDⓈ-M futures"; edge case §5 (4).

USDⓈ-M quantities are in base units (no contract multiplier). Shapes handled (a list
payload yields the items of every element):

- ``ORDER_TRADE_UPDATE`` → ``OrderEvidence`` (cost = ``ap × z``, no cumulative fee, no
  per-event id exists) and, for ``x == TRADE`` with ``t != 0``, a ``TradeEvidence`` first;
  ``n``/``N`` are "not pushed when no commission" (row (h), §5.4).
- ``TRADE_LITE`` → ``TradeEvidence`` with ``fees=None``: it carries no fee (§2 note); the
  ledger completes the fee from the full report of the same trade.
- ``ACCOUNT_UPDATE``, ``listenKeyExpired`` (and ``MARGIN_CALL``,
  ``ACCOUNT_CONFIG_UPDATE``, ...) → skipped.
- REST: GET/POST/DELETE /fapi/v1/order, openOrders, allOrders rows; userTrades rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.domain.types import OrderStatus, Side
from gridledger.ledger.evidence import OrderEvidence, Parsed, TradeEvidence
from gridledger.venues.binance_spot.parse import STATUS as _SPOT_STATUS
from gridledger.venues.binance_spot.parse import raise_binance_error, rest_trade_row
from gridledger.venues.common import (
    ZERO,
    each,
    fee_pair,
    guarded,
    is_map,
    lookup_status,
    need_map,
    opt_client_id,
    opt_decimal,
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

__all__ = ["STATUS", "parse_binance_usdm"]

_NEW = OrderStatus.NEW
_PARTIAL = OrderStatus.PARTIALLY_FILLED

# corpus README §2 row (c), column 2; NEW_INSURANCE / NEW_ADL are the liquidation
# variants of NEW in older USDⓈ-M docs (``autoclose-…`` client ids, row (b)).
STATUS: dict[str, OrderStatus | None] = {
    **_SPOT_STATUS,
    "NEW_INSURANCE": _NEW,
    "NEW_ADL": _NEW,
}

_SKIP_EVENTS: dict[str, str] = {
    e: f"binance-usdm {e} event (not order evidence)"
    for e in (
        "ACCOUNT_UPDATE",
        "listenKeyExpired",
        "MARGIN_CALL",
        "ACCOUNT_CONFIG_UPDATE",
        "STRATEGY_UPDATE",
        "GRID_UPDATE",
        "CONDITIONAL_ORDER_TRIGGER_REJECT",
    )
}

_OU = "ORDER_TRADE_UPDATE field o."
OU_O = "ORDER_TRADE_UPDATE field o (order)"
OU_I = _OU + "i (order id)"
OU_S = _OU + "s (symbol)"
OU_C = _OU + "c (client order id)"
OU_X = _OU + "X (order status)"
OU_XT = _OU + "x (execution type)"
OU_SIDE = _OU + "S (side)"
OU_Q = _OU + "q (order quantity)"
OU_P = _OU + "p (order price)"
OU_Z = _OU + "z (cumulative filled)"
OU_AP = _OU + "ap (average price)"
OU_T = _OU + "T (order trade time)"
OU_ET = "ORDER_TRADE_UPDATE field T (transaction time)"
OU_TID = _OU + "t (trade id)"
OU_L = _OU + "l (last filled)"
OU_LP = _OU + "L (last price)"
OU_N = _OU + "n (commission)"
OU_NA = _OU + "N (commission asset)"

_TL = "TRADE_LITE field "
TL_I = _TL + "i (order id)"
TL_S = _TL + "s (symbol)"
TL_C = _TL + "c (client order id)"
TL_SIDE = _TL + "S (side)"
TL_TID = _TL + "t (trade id)"
TL_L = _TL + "l (last filled)"
TL_LP = _TL + "L (last price)"
TL_T = _TL + "T (transaction time)"

_RO = "binance-usdm order field "
RO_ID = _RO + "orderId (order id)"
RO_SYM = _RO + "symbol"
RO_STATUS = _RO + "status"
RO_SIDE = _RO + "side"
RO_CID = _RO + "clientOrderId"
RO_QTY = _RO + "origQty (order quantity)"
RO_PX = _RO + "price"
RO_EXEC = _RO + "executedQty (cumulative filled)"
RO_COST = _RO + "cumQuote (cumulative quote)"
RO_AVG = _RO + "avgPrice (average price)"
RO_TS = _RO + "updateTime/time (time)"

_RT = "binance-usdm userTrades field "
RT_SIDE = _RT + "side"
RT_BUYER = _RT + "buyer (side)"


def order_trade_update(msg: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    """``ORDER_TRADE_UPDATE`` (corpus README §2 column 2): everything is in ``o``."""
    o = need_map(msg.get("o"), OU_O)
    order_id = req_id(o.get("i"), OU_I)
    exec_type = req_str(o.get("x"), OU_XT)
    symbol = symbol_of(o.get("s"), OU_S, instrument, False)
    filled = to_decimal(o.get("z"), OU_Z)
    status = lookup_status(STATUS, o.get("X"), OU_X)
    if status is None:  # PENDING_CANCEL is not terminal
        status = _PARTIAL if filled else _NEW
    average = opt_decimal(o.get("ap"), OU_AP)
    client_id = opt_client_id(o.get("c"), OU_C)
    side = opt_side(o.get("S"), OU_SIDE)
    timestamp = opt_ts(o.get("T"), OU_T)
    if timestamp is None:
        timestamp = opt_ts(msg.get("T"), OU_ET)
    order = OrderEvidence(
        symbol=symbol,
        order_id=order_id,
        client_id=client_id,
        status=status,
        side=side,
        amount=opt_decimal(o.get("q"), OU_Q) or None,
        price=price_or_none(o.get("p"), OU_P),
        filled=filled,
        # No cumulative quote exists on USDⓈ-M: cost = ap × z (row (d)); nothing filled → 0.
        cost=average * filled if average is not None else (ZERO if not filled else None),
        fees=None,
        timestamp=timestamp,
        event_id=None,  # USDⓈ-M has no per-event id (§2 row (g): order by E)
        source=source,
    )
    if exec_type != "TRADE":
        return Parsed((order,))
    trade_id = o.get("t")
    if trade_id == 0 or trade_id == "0":
        return Parsed((order,))
    amount = to_decimal(o.get("l"), OU_L)
    price = to_price(o.get("L"), OU_LP)
    trade = TradeEvidence(
        symbol=symbol,
        order_id=order_id,
        client_id=client_id,
        trade_id=req_id(trade_id, OU_TID),
        side=side,
        amount=amount,
        price=price,
        cost=amount * price,
        # Absent n/N = no commission (§5.4); BNB commissions stay in BNB.
        fees=fee_pair(o.get("n"), o.get("N"), OU_N, OU_NA),
        timestamp=timestamp,
        source=source,
    )
    return Parsed((trade, order))


def trade_lite(msg: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    """``TRADE_LITE``: only ``s,q,p,m,c,S,L,l,t,i`` (corpus README §2 note) → fee unknown."""
    amount = to_decimal(msg.get("l"), TL_L)
    price = to_price(msg.get("L"), TL_LP)
    return Parsed(
        (
            TradeEvidence(
                symbol=symbol_of(msg.get("s"), TL_S, instrument, False),
                order_id=req_id(msg.get("i"), TL_I),
                client_id=opt_client_id(msg.get("c"), TL_C),
                trade_id=req_id(msg.get("t"), TL_TID),
                side=opt_side(msg.get("S"), TL_SIDE),
                amount=amount,
                price=price,
                cost=amount * price,
                fees=None,
                timestamp=opt_ts(msg.get("T"), TL_T),
                source=source,
            ),
        )
    )


def rest_order(row: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    """GET/POST/DELETE /fapi/v1/order, openOrders, allOrders rows.

    Cost is ``cumQuote`` when given, else ``avgPrice × executedQty``. A row without
    ``status`` only links ids (status ``None``).
    """
    order_id = req_id(row.get("orderId"), RO_ID)
    symbol = symbol_of(row.get("symbol"), RO_SYM, instrument, False)
    client_id = opt_client_id(row.get("clientOrderId"), RO_CID)
    timestamp = opt_ts(row.get("updateTime"), RO_TS)
    if timestamp is None:
        timestamp = opt_ts(row.get("time"), RO_TS)
    side = opt_side(row.get("side"), RO_SIDE)
    raw_status = row.get("status")
    if raw_status is None:
        return Parsed(
            (
                OrderEvidence(
                    symbol=symbol,
                    order_id=order_id,
                    client_id=client_id,
                    status=None,
                    side=side,
                    timestamp=timestamp,
                    source=source,
                ),
            )
        )
    filled = to_decimal(row.get("executedQty"), RO_EXEC)
    status = lookup_status(STATUS, raw_status, RO_STATUS)
    if status is None:
        status = _PARTIAL if filled else _NEW
    cost = opt_decimal(row.get("cumQuote"), RO_COST)
    if cost is None:
        average = opt_decimal(row.get("avgPrice"), RO_AVG)
        if average is not None:
            cost = average * filled
    return Parsed(
        (
            OrderEvidence(
                symbol=symbol,
                order_id=order_id,
                client_id=client_id,
                status=status,
                side=side,
                amount=opt_decimal(row.get("origQty"), RO_QTY) or None,
                price=price_or_none(row.get("price"), RO_PX),
                filled=filled,
                cost=cost,
                fees=None,
                timestamp=timestamp,
                source=source,
            ),
        )
    )


def user_trade(row: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    """GET /fapi/v1/userTrades row (``id`` = stream ``o.t``). Commission keeps its sign
    (negative = rebate); side from ``side``, else ``buyer``."""
    side = opt_side(row.get("side"), RT_SIDE)
    if side is None:
        buyer = row.get("buyer")
        if buyer is True:
            side = Side.BUY
        elif buyer is False:
            side = Side.SELL
        else:
            raise InputError(f"{RT_BUYER} must be true or false when side is absent, got {show(buyer)}")
    return rest_trade_row(row, side, _RT, False, instrument, source)


def _one(payload: Any, instrument: Instrument, source: str) -> Parsed:
    if not is_map(payload):
        raise InputError(
            f"binance-usdm message must be a JSON object or list, got {type(payload).__name__}: {show(payload)}"
        )
    kind = payload.get("e")
    if kind is not None:
        if kind == "ORDER_TRADE_UPDATE":
            return order_trade_update(payload, instrument, source)
        if kind == "TRADE_LITE":
            return trade_lite(payload, instrument, source)
        if type(kind) is str and kind in _SKIP_EVENTS:
            return Parsed((), _SKIP_EVENTS[kind])
        raise InputError(f"unknown binance-usdm event type in field e: {show(kind)}")
    if "orderId" in payload:
        if "commission" in payload and "qty" in payload:
            return user_trade(payload, instrument, source)
        return rest_order(payload, instrument, source)
    if "i" in payload and "x" in payload and "X" in payload:
        # ccxt.pro's binanceusdm keeps only the event's "o" object as an order's or trade's
        # ``info``: read it as the ORDER_TRADE_UPDATE it came in.
        return order_trade_update({"o": payload}, instrument, source)
    raise_binance_error(payload, "binance-usdm")
    raise InputError(f"not a binance-usdm message (no e or orderId); keys: {show(list(payload)[:12], 200)}")


def _parse(payload: Any, instrument: Instrument, source: str) -> Parsed:
    if isinstance(payload, list):
        return each(payload, _one, instrument, source)
    return _one(payload, instrument, source)


@guarded
def parse_binance_usdm(payload: Any, instrument: Instrument, source: str = "") -> Parsed:
    """Parse one Binance USDⓈ-M stream event or REST answer (see the module docstring)."""
    return _parse(payload, instrument, source)
