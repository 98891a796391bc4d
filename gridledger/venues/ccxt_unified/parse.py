"""ccxt unified order and trade structures (ccxt 4.5.90, corpus README §4).

This is the fallback path: the live engine prefers the venue parser on ``info``. Numbers
may be floats, strings (``exchange.number = str``) or ``Decimal``; all go through
``to_decimal`` (floats via their shortest ``repr``).

Units: ccxt ``amount``/``filled`` of contract markets count contracts ("OKX/Binance-inverse
contracts → amount in contracts with contractSize", §4), so they are multiplied by
``instrument.contract_size``; ``price``/``average`` are per base unit and ``cost`` is
quote.

A few venue facts are read from ``info`` because ccxt's unified fields lose them:

- Bybit spot ``PartiallyFilledCanceled`` becomes ``closed`` (§4, §5.11): with
  ``info.orderStatus`` saying so, ``closed`` maps to CANCELED even though the amount
  is unknown or reached.
- Quote-sized spot market buys (OKX ``tgtCcy=quote_ccy``, §5.6; Bybit ``marketUnit``
  not ``baseCoin``): ccxt fills ``amount`` from ``filled`` (+ ``remaining``) and, for OKX,
  puts the *requested* quote size into ``cost``. The base amount is unknown → ``None``,
  and cost = average × filled, as the OKX parser computes it.
- Binance stream orders (``info`` is an executionReport or USDⓈ-M ``o`` object) carry
  the last trade's commission in ``fee`` (and ccxt.pro adds replayed fees twice, §4):
  not cumulative → ``fees=None``.
- A trade whose ``info.execType`` is Funding/Settle/Delivery is skipped (§5.10).
- Binance DELETE answers: ccxt's ``clientOrderId`` is the cancel request's id; the
  order's own id is ``info.origClientOrderId`` (§2 row (b), the REST analogue of c/C).
- ccxt trades carry no client order id; it is taken from ``info`` when there.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import ONE, InputError
from gridledger.domain.types import OrderStatus
from gridledger.ledger.evidence import Fees, OrderEvidence, Parsed, TradeEvidence, make_fees
from gridledger.venues.common import (
    ZERO,
    each,
    guarded,
    is_map,
    need_map,
    opt_client_id,
    opt_decimal,
    opt_id,
    opt_qty,
    opt_side,
    opt_ts,
    price_or_none,
    qty,
    req_id,
    show,
    symbol_of,
    to_price,
)

__all__ = ["parse_ccxt", "parse_ccxt_order", "parse_ccxt_trade"]

_NON_TRADE_EXEC = frozenset({"Funding", "Settle", "Delivery"})
_BYBIT_CANCELED = frozenset({"PartiallyFilledCanceled", "Cancelled", "Deactivated"})

_O = "ccxt order field "
O_ID = _O + "id (order id)"
O_CID = _O + "clientOrderId"
O_OCID = _O + "info.origClientOrderId"
O_SYM = _O + "symbol"
O_STATUS = _O + "status"
O_SIDE = _O + "side"
O_AMOUNT = _O + "amount"
O_PRICE = _O + "price"
O_FILLED = _O + "filled"
O_COST = _O + "cost"
O_AVG = _O + "average"
O_TS = _O + "lastUpdateTimestamp/lastTradeTimestamp/timestamp"
O_FEE = _O + "fee"
O_FEES = _O + "fees"

_T = "ccxt trade field "
T_ID = _T + "id (trade id)"
T_OID = _T + "order (order id)"
T_CID = _T + "clientOrderId"
T_SYM = _T + "symbol"
T_SIDE = _T + "side"
T_AMOUNT = _T + "amount"
T_PRICE = _T + "price"
T_COST = _T + "cost"
T_TS = _T + "timestamp"
T_FEE = _T + "fee"
T_FEES = _T + "fees"


def _fee_entry(entry: object, label: str) -> tuple[str, Decimal] | None:
    """``{"cost": ..., "currency": ...}`` → pair; ``None`` when the cost is unknown."""
    fee = need_map(entry, label)
    value = opt_decimal(fee.get("cost"), f"{label}.cost", negative_ok=True)
    if value is None:
        return None
    currency = fee.get("currency")
    if type(currency) is not str or not currency:
        if not value:
            return ("", ZERO)  # a zero fee needs no asset
        raise InputError(f"{label}.currency must name the asset of a non-zero fee, got {show(currency)}")
    return (currency, value)


def ccxt_fees(obj: Mapping[str, Any], fees_label: str, fee_label: str) -> Fees | None:
    """Cumulative fees: ``fees`` list if non-empty, else ``fee``; ``None`` if neither
    carries a cost (ccxt uses ``fee=None`` for "not reported"). Fee costs may be negative
    (rebates) and may be strings (Bybit, §4)."""
    fees = obj.get("fees")
    if fees:
        if not isinstance(fees, list):
            raise InputError(f"{fees_label} must be a list, got {show(fees)}")
        pairs = []
        for entry in fees:
            pair = _fee_entry(entry, f"{fees_label}[]")
            if pair is not None:
                pairs.append(pair)
        if pairs:
            return make_fees(pairs)
    fee = obj.get("fee")
    if fee is None:
        return None
    pair = _fee_entry(fee, fee_label)
    if pair is None:
        return None
    return make_fees((pair,))


def _status(
    raw: object, filled: Decimal | None, amount: Decimal | None, info: Mapping[str, Any] | None
) -> OrderStatus | None:
    """ccxt status → ours (the brief's table; corpus README §4 "Use the filled value")."""
    if raw is None:
        return None
    if raw == "open":
        if not filled:
            return OrderStatus.NEW
        if amount is None or filled < amount:
            return OrderStatus.PARTIALLY_FILLED
        return OrderStatus.FILLED
    if raw == "closed":
        if info is not None:
            venue_status = info.get("orderStatus")
            if type(venue_status) is str and venue_status in _BYBIT_CANCELED:
                return OrderStatus.CANCELED
        if amount is None or (filled is not None and filled >= amount):
            return OrderStatus.FILLED
        return OrderStatus.CANCELED
    if raw == "canceled" or raw == "cancelled":
        return OrderStatus.CANCELED
    if raw == "expired":
        return OrderStatus.EXPIRED
    if raw == "rejected":
        return OrderStatus.REJECTED
    raise InputError(f"unknown order status {show(raw)} in {O_STATUS}")


def _quote_sized(order: Mapping[str, Any], info: Mapping[str, Any] | None, symbol: str) -> str | None:
    """``"okx"``/``"bybit"`` for a spot market buy sized in quote (module docstring), else ``None``."""
    if info is None:
        return None
    if info.get("tgtCcy") == "quote_ccy":  # OKX: only spot market orders may be quote-sized
        return "okx"
    if (
        "orderLinkId" in info
        and "orderStatus" in info  # a Bybit order row
        and ":" not in symbol
        and order.get("type") == "market"
        and order.get("side") == "buy"
        and info.get("marketUnit") in (None, "", "quoteCoin")
    ):
        return "bybit"
    return None


def _info_client_id(info: Mapping[str, Any] | None) -> str | None:
    """ccxt trades have no ``clientOrderId``; the raw row has it (Bybit ``orderLinkId``,
    OKX ``clOrdId``, Binance executionReport ``c`` — never a cancel id on a trade event)."""
    if info is None:
        return None
    for key in ("orderLinkId", "clOrdId"):
        value = info.get(key)
        if value is not None and value != "":
            return opt_client_id(value, f"ccxt trade field info.{key}")
    if _binance_stream(info):
        return opt_client_id(info.get("c"), "ccxt trade field info.c")
    return None


def _binance_stream(info: Mapping[str, Any] | None) -> bool:
    """A Binance stream order as ccxt.pro keeps it in ``info``: the spot executionReport,
    or the USDⓈ-M ``o`` object (ccxt 4.5.90 pro/binance.py handle_order_update unwraps it,
    so there is no ``e``). Both carry execution type ``x``, status ``X`` and ``z``."""
    return info is not None and "x" in info and "X" in info and "z" in info


def _info(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    info = obj.get("info")
    return info if is_map(info) else None


def _first_ts(obj: Mapping[str, Any], keys: tuple[str, ...], label: str) -> int | None:
    for key in keys:
        value = obj.get(key)
        if value is not None:
            return opt_ts(value, label)
    return None


_ORDER_TS = ("lastUpdateTimestamp", "lastTradeTimestamp", "timestamp")


def _order(order: Any, instrument: Instrument, source: str) -> Parsed:
    order = need_map(order, "ccxt order")
    order_id = opt_id(order.get("id"), O_ID)
    info = _info(order)
    original = info.get("origClientOrderId") if info is not None else None
    if original is not None and original != "":
        # Binance DELETE answers: ccxt 4.5.90 reports the cancel request's id as
        # clientOrderId; the order's own id is origClientOrderId (corpus, DELETE /api/v3/order).
        client_id = opt_client_id(original, O_OCID)
    else:
        client_id = opt_client_id(order.get("clientOrderId"), O_CID)
    if order_id is None and client_id is None:
        raise InputError(f"{O_ID} is missing (and there is no clientOrderId)")
    symbol = symbol_of(order.get("symbol"), O_SYM, instrument)
    size = instrument.contract_size
    mult = None if size == ONE else size
    amount = opt_qty(order.get("amount"), O_AMOUNT, mult) or None
    filled = opt_qty(order.get("filled"), O_FILLED, mult)
    cost = opt_decimal(order.get("cost"), O_COST)
    quote_sized = _quote_sized(order, info, symbol)
    if quote_sized is not None:
        amount = None
        if quote_sized == "okx":  # ccxt's cost is OKX's requested sz, not what was spent
            average = opt_decimal(order.get("average"), O_AVG)
            if average is not None and filled is not None:
                cost = average * filled
    elif cost is None and filled is not None:
        average = opt_decimal(order.get("average"), O_AVG)
        if average is not None:
            cost = average * filled
        elif not filled:
            cost = ZERO
    status = _status(order.get("status"), filled, amount, info)
    fees = ccxt_fees(order, O_FEES, O_FEE)
    if fees is not None and _binance_stream(info):
        fees = None  # last trade's commission, not cumulative
    return Parsed(
        (
            OrderEvidence(
                symbol=symbol,
                order_id=order_id,
                client_id=client_id,
                status=status,
                side=opt_side(order.get("side"), O_SIDE),
                amount=amount,
                price=price_or_none(order.get("price"), O_PRICE),
                filled=filled,
                cost=cost,
                fees=fees,
                timestamp=_first_ts(order, _ORDER_TS, O_TS),
                source=source,
            ),
        )
    )


def _trade(trade: Any, instrument: Instrument, source: str) -> Parsed:
    trade = need_map(trade, "ccxt trade")
    info = _info(trade)
    if info is not None:
        exec_type = info.get("execType")
        if type(exec_type) is str and exec_type in _NON_TRADE_EXEC:
            return Parsed((), f"bybit {exec_type} execution (not a trade)")
    size = instrument.contract_size
    amount = qty(trade.get("amount"), T_AMOUNT, None if size == ONE else size)
    price = to_price(trade.get("price"), T_PRICE)
    cost = opt_decimal(trade.get("cost"), T_COST)
    side = opt_side(trade.get("side"), T_SIDE)
    client_id = opt_client_id(trade.get("clientOrderId"), T_CID)
    if client_id is None:
        client_id = _info_client_id(info)
    return Parsed(
        (
            TradeEvidence(
                symbol=symbol_of(trade.get("symbol"), T_SYM, instrument),
                order_id=opt_id(trade.get("order"), T_OID),
                client_id=client_id,
                trade_id=req_id(trade.get("id"), T_ID),
                side=side,
                amount=amount,
                price=price,
                cost=cost if cost is not None else price * amount,
                fees=ccxt_fees(trade, T_FEES, T_FEE),
                timestamp=opt_ts(trade.get("timestamp"), T_TS),
                source=source,
            ),
        )
    )


def _one(payload: Any, instrument: Instrument, source: str) -> Parsed:
    if not is_map(payload):
        raise InputError(f"ccxt message must be a JSON object or list, got {type(payload).__name__}: {show(payload)}")
    kind = payload.get("kind")
    if kind is not None:
        if kind == "order":
            return _order(payload.get("order"), instrument, source)
        if kind == "trade":
            return _trade(payload.get("trade"), instrument, source)
        raise InputError(f"ccxt wrapper field kind must be 'order' or 'trade', got {show(kind)}")
    if "status" in payload or "filled" in payload or "remaining" in payload:
        return _order(payload, instrument, source)
    if "order" in payload and "amount" in payload:
        return _trade(payload, instrument, source)
    raise InputError(
        f"not a ccxt order (status/filled/remaining) or trade (order + amount); keys: {show(list(payload)[:12], 200)}"
    )


def _parse(payload: Any, instrument: Instrument, source: str) -> Parsed:
    if isinstance(payload, list):
        return each(payload, _one, instrument, source)
    return _one(payload, instrument, source)


@guarded
def parse_ccxt(payload: Any, instrument: Instrument, source: str = "") -> Parsed:
    """A ccxt order or trade dict, a ``{"kind": ..., ...}`` wrapper, or a list of them."""
    return _parse(payload, instrument, source)


@guarded
def parse_ccxt_order(order: Any, instrument: Instrument, source: str = "") -> Parsed:
    """A ccxt unified order → one ``OrderEvidence`` (status ``None`` for id-only acks)."""
    return _order(order, instrument, source)


@guarded
def parse_ccxt_trade(trade: Any, instrument: Instrument, source: str = "") -> Parsed:
    """A ccxt unified trade → one ``TradeEvidence``; Bybit funding/settlement rows that
    ccxt presents as trades are skipped (§5.10)."""
    return _trade(trade, instrument, source)
