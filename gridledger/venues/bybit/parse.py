"""Bybit v5: private ``order`` / ``execution`` / ``execution.fast`` topics and REST answers.

Field table: corpus README §2, column "Bybit v5 order / execution topics"; stream notes
§3 "Bybit v5"; edge cases §5 (8)-(11).

Bybit counts spot and linear quantities in base units (no contract multiplier), with one
exception: the ``qty`` of a spot market *buy* is in quote unless it was placed with
``marketUnit=baseCoin`` (Bybit create-order docs; ccxt 4.5.90 ``bybit.parse_order``
applies the same rule), so its base ``amount`` is unknown (``None``).

Shapes handled (a list payload yields the items of every element):

- ``{"topic": "order", "data": [...]}`` (also ``order.spot`` etc.) → one ``OrderEvidence``
  per row; the documented second ``Filled`` of a cancel race (§5.9) parses like the first.
- ``execution`` → one ``TradeEvidence`` per trade row (several per message are normal);
  ``Funding``/``Settle``/``Delivery`` and other non-trade ``execType`` rows are skipped
  (§3 "Filter execType", §5.10). ``execution.fast`` → trades with ``fees=None``.
- ``position``/``wallet``/``greeks``/``dcp`` topics and ``op`` answers (pong, auth,
  subscribe) → skipped; a failed ``op`` → ``InputError``.
- REST ``{"retCode": 0, "result": {"list": [...]}}``: order realtime/history rows,
  execution/list rows, and create/amend/cancel acks (``result`` with ``orderId``).
  Non-zero ``retCode`` → ``InputError`` with ``retMsg``.
- A bare row (the ``info`` of a ccxt order or trade) is parsed by its fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.domain.types import OrderStatus, Side
from gridledger.ledger.evidence import Evidence, Fees, OrderEvidence, Parsed, TradeEvidence
from gridledger.venues.common import (
    collect,
    each,
    fee_pair,
    fees_from_map,
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
    show,
    symbol_of,
    to_decimal,
    to_price,
)

__all__ = ["STATUS", "TRADE_EXEC_TYPES", "implied_fee_currency", "parse_bybit"]

_NEW = OrderStatus.NEW
_CANCELED = OrderStatus.CANCELED

# corpus README §2 row (c), column 4. ``Created``/``Active``/``PendingCancel`` are older
# open states still mapped by ccxt 4.5.90 (bybit.parse_order_status); kept so such a row
# is not rejected.
STATUS: dict[str, OrderStatus | None] = {
    "New": _NEW,
    "Created": _NEW,
    "Active": _NEW,
    "Untriggered": _NEW,
    "Triggered": _NEW,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "PendingCancel": None,  # not terminal: NEW or PARTIALLY_FILLED by cumExecQty
    "Filled": OrderStatus.FILLED,
    "Cancelled": _CANCELED,
    "PartiallyFilledCanceled": _CANCELED,  # spot only (§5.11); ccxt calls it "closed"
    "Deactivated": _CANCELED,
    "Rejected": OrderStatus.REJECTED,
}

# execType values that are fills of our orders (§2 row (f)). Everything else (Funding,
# Settle, Delivery, MovePosition, ...) moves no order quantity.
TRADE_EXEC_TYPES = frozenset({"Trade", "AdlTrade", "BustTrade", "BlockTrade"})

_SKIP_TOPICS = ("position", "wallet", "greeks", "dcp")
_SKIP_OPS = frozenset({"pong", "ping", "auth", "subscribe", "unsubscribe"})

_OR = "bybit order field "
OR_ID = _OR + "orderId (order id)"
OR_CID = _OR + "orderLinkId (client order id)"
OR_SYM = _OR + "symbol"
OR_STATUS = _OR + "orderStatus"
OR_SIDE = _OR + "side"
OR_QTY = _OR + "qty (order quantity)"
OR_PX = _OR + "price"
OR_CUM = _OR + "cumExecQty (cumulative filled)"
OR_VAL = _OR + "cumExecValue (cumulative quote)"
OR_FEE = _OR + "cumExecFee"
OR_FEEC = _OR + "feeCurrency"
OR_DETAIL = _OR + "cumFeeDetail"
OR_TS = _OR + "updatedTime"

_EX = "bybit execution field "
EX_ID = _EX + "execId (trade id)"
EX_OID = _EX + "orderId (order id)"
EX_CID = _EX + "orderLinkId (client order id)"
EX_SYM = _EX + "symbol"
EX_SIDE = _EX + "side"
EX_QTY = _EX + "execQty"
EX_PX = _EX + "execPrice"
EX_VAL = _EX + "execValue"
EX_FEE = _EX + "execFee"
EX_FEEC = _EX + "feeCurrency"
EX_TS = _EX + "execTime"

_AK = "bybit ack field "
AK_ID = _AK + "orderId (order id)"
AK_CID = _AK + "orderLinkId (client order id)"


def _venue_category(row: Mapping[str, Any], category: object) -> str | None:
    """Row ``category``, else the message/result one; ``None`` if neither says."""
    value = row.get("category")
    if type(value) is str and value:
        return value
    if type(category) is str and category:
        return category
    return None


def _category(row: Mapping[str, Any], category: object, instrument: Instrument) -> str:
    """The venue's category, else the instrument's kind."""
    venue = _venue_category(row, category)
    return venue if venue is not None else instrument.kind


def _symbol(row: Mapping[str, Any], category: object, label: str, instrument: Instrument) -> str:
    venue = _venue_category(row, category)
    return symbol_of(row.get("symbol"), label, instrument, None if venue is None else venue == "spot")


def order_row(row: Mapping[str, Any], instrument: Instrument, source: str, category: object = None) -> OrderEvidence:
    """One ``order`` topic row or order realtime/history REST row."""
    filled = to_decimal(row.get("cumExecQty"), OR_CUM)
    status = lookup_status(STATUS, row.get("orderStatus"), OR_STATUS)
    if status is None:  # PendingCancel
        status = OrderStatus.PARTIALLY_FILLED if filled else _NEW
    side = opt_side(row.get("side"), OR_SIDE)
    amount = opt_decimal(row.get("qty"), OR_QTY) or None
    if (
        amount is not None
        and side is Side.BUY
        and row.get("orderType") == "Market"
        and row.get("marketUnit") in (None, "", "quoteCoin")
        and _category(row, category, instrument) == "spot"
    ):
        amount = None  # quote-sized spot market buy: qty is in quote
    fees: Fees | None = fees_from_map(row.get("cumFeeDetail"), OR_DETAIL)
    if fees is None:
        currency = row.get("feeCurrency")
        if currency is not None and currency != "":
            raw = row.get("cumExecFee")
            if raw is not None and raw != "":
                fees = fee_pair(raw, currency, OR_FEE, OR_FEEC)
    return OrderEvidence(
        symbol=_symbol(row, category, OR_SYM, instrument),
        order_id=req_id(row.get("orderId"), OR_ID),
        client_id=opt_client_id(row.get("orderLinkId"), OR_CID),
        status=status,
        side=side,
        amount=amount,
        price=price_or_none(row.get("price"), OR_PX),
        filled=filled,
        cost=opt_decimal(row.get("cumExecValue"), OR_VAL),
        fees=fees,
        timestamp=opt_ts(row.get("updatedTime"), OR_TS),
        source=source,
    )


def implied_fee_currency(category: str, side: Side | None, fee: Decimal | None, instrument: Instrument) -> str | None:
    """The fee asset of an execution row without ``feeCurrency`` (older payloads), as
    Bybit charges it (corpus README §5 (12); ccxt 4.5.90 ``bybit.parse_trade`` applies the
    same rule):

    - spot: a charged fee (positive) is taken from the asset received (base on a buy,
      quote on a sell); a rebate (negative) is paid in the asset given (quote on a buy,
      base on a sell). Without a side the asset is unknown (``None``).
    - linear and option: the settle coin; inverse: the base coin (its settle coin too).
    """
    if category == "spot":
        if side is None:
            return None
        rebate = fee is not None and fee < 0
        receives_base = side is Side.BUY
        return instrument.base if receives_base != rebate else instrument.quote
    if category == "inverse":
        return instrument.settle or instrument.base
    return instrument.settle or instrument.quote


def execution_row(
    row: Mapping[str, Any], instrument: Instrument, source: str, category: object = None, *, fast: bool = False
) -> TradeEvidence | str:
    """One ``execution`` (or ``execution.fast``) row or execution/list REST row.

    Returns the skip reason (a ``str``) for non-trade rows. Fee: ``execFee`` in
    ``feeCurrency`` (positive = charged, negative = rebate); without ``feeCurrency`` the
    currency Bybit implies (``implied_fee_currency``).
    """
    exec_type = row.get("execType")
    if exec_type is not None and exec_type != "" and not (type(exec_type) is str and exec_type in TRADE_EXEC_TYPES):
        if type(exec_type) is not str:
            raise InputError(f"bybit execution field execType must be a string, got {show(exec_type)}")
        return f"bybit {exec_type} execution (not a trade)"
    amount = to_decimal(row.get("execQty"), EX_QTY)
    price = to_price(row.get("execPrice"), EX_PX)
    cost = opt_decimal(row.get("execValue"), EX_VAL)
    fees: Fees | None
    raw_fee = row.get("execFee")
    if fast or raw_fee is None or raw_fee == "":
        fees = None  # execution.fast carries no fee (§2 note)
    else:
        currency = row.get("feeCurrency")
        if currency is None or currency == "":
            value = opt_decimal(raw_fee, EX_FEE, negative_ok=True)
            currency = implied_fee_currency(
                _category(row, category, instrument), opt_side(row.get("side"), EX_SIDE), value, instrument
            )
            if currency is None:  # no side on a spot row: the asset cannot be told
                fees = () if not value else None
            else:
                fees = fee_pair(value, currency, EX_FEE, EX_FEEC)
        else:
            fees = fee_pair(raw_fee, currency, EX_FEE, EX_FEEC)
    return TradeEvidence(
        symbol=_symbol(row, category, EX_SYM, instrument),
        order_id=req_id(row.get("orderId"), EX_OID),
        client_id=opt_client_id(row.get("orderLinkId"), EX_CID),
        trade_id=req_id(row.get("execId"), EX_ID),
        side=opt_side(row.get("side"), EX_SIDE),
        amount=amount,
        price=price,
        cost=cost if cost is not None else amount * price,
        fees=fees,
        timestamp=opt_ts(row.get("execTime"), EX_TS),
        source=source,
    )


def _ack(row: Mapping[str, Any], instrument: Instrument, source: str) -> OrderEvidence:
    """create/amend/cancel answer ``{"orderId", "orderLinkId"}``: links ids only. The row
    names no symbol; the request named the caller's instrument."""
    return OrderEvidence(
        symbol=instrument.symbol,
        order_id=req_id(row.get("orderId"), AK_ID),
        client_id=opt_client_id(row.get("orderLinkId"), AK_CID),
        status=None,
        source=source,
    )


def _rows(data: object, label: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if data is None:
        raise InputError(f"{label} is missing")
    raise InputError(f"{label} must be a list, got {show(data)}")


def _row(
    row: Mapping[str, Any],
    instrument: Instrument,
    source: str,
    category: object,
    items: list[Evidence],
    reasons: list[str],
) -> None:
    """Classify a row by its fields: execution (``execId``), order (``orderStatus``), ack."""
    if "execId" in row:
        result = execution_row(row, instrument, source, category, fast="execFee" not in row and "execType" not in row)
        if isinstance(result, str):
            if result not in reasons:
                reasons.append(result)
        else:
            items.append(result)
    elif "orderStatus" in row:
        items.append(order_row(row, instrument, source, category))
    elif "orderId" in row:
        items.append(_ack(row, instrument, source))
    else:
        raise InputError(f"bybit row is neither an order, an execution nor an ack; keys: {show(list(row)[:12], 200)}")


def _topic(payload: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    topic = payload.get("topic")
    if type(topic) is not str or not topic:
        raise InputError(f"bybit field topic must be a topic name, got {show(topic)}")
    base = topic.partition(".")[0]
    if base in _SKIP_TOPICS:
        return Parsed((), f"bybit {topic} topic (not order evidence)")
    rows = _rows(payload.get("data"), "bybit message field data")
    category = payload.get("category")
    items: list[Evidence] = []
    reasons: list[str] = []
    if base == "order":
        for row in rows:
            items.append(order_row(need_map(row, "bybit order data[] row"), instrument, source, category))
        return collect(items, reasons)
    if base == "execution":
        fast = topic == "execution.fast" or topic.startswith("execution.fast.")
        for row in rows:
            result = execution_row(need_map(row, "bybit execution data[] row"), instrument, source, category, fast=fast)
            if isinstance(result, str):
                if result not in reasons:
                    reasons.append(result)
            else:
                items.append(result)
        return collect(items, reasons)
    raise InputError(f"unknown bybit topic {show(topic)}")


def _rest(payload: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    code = payload.get("retCode")
    if code != 0 and code != "0":
        raise InputError(f"bybit error retCode {show(code)}: {show(payload.get('retMsg'), 200)}")
    result = need_map(payload.get("result"), "bybit response field result")
    items: list[Evidence] = []
    reasons: list[str] = []
    category = result.get("category")
    if "list" in result:
        for row in _rows(result.get("list"), "bybit response field result.list"):
            _row(need_map(row, "bybit result.list[] row"), instrument, source, category, items, reasons)
        return collect(items, reasons)
    if "orderId" in result:
        return Parsed((_ack(result, instrument, source),))
    return Parsed((), "bybit response without orders or executions")


def _op(payload: Mapping[str, Any]) -> Parsed:
    op = payload.get("op")
    if payload.get("success") is False:
        raise InputError(f"bybit op {show(op)} failed: {show(payload.get('ret_msg'), 200)}")
    if type(op) is str and op in _SKIP_OPS:
        return Parsed((), f"bybit {op} answer (not order evidence)")
    raise InputError(f"unknown bybit op {show(op)}")


def _one(payload: Any, instrument: Instrument, source: str) -> Parsed:
    if not is_map(payload):
        raise InputError(f"bybit message must be a JSON object or list, got {type(payload).__name__}: {show(payload)}")
    if "topic" in payload:
        return _topic(payload, instrument, source)
    if "retCode" in payload:
        return _rest(payload, instrument, source)
    if "op" in payload:
        return _op(payload)
    items: list[Evidence] = []
    reasons: list[str] = []
    _row(payload, instrument, source, None, items, reasons)
    return collect(items, reasons)


def _parse(payload: Any, instrument: Instrument, source: str) -> Parsed:
    if isinstance(payload, list):
        return each(payload, _one, instrument, source)
    return _one(payload, instrument, source)


@guarded
def parse_bybit(payload: Any, instrument: Instrument, source: str = "") -> Parsed:
    """Parse one Bybit v5 private-stream message or REST answer (see the module docstring)."""
    return _parse(payload, instrument, source)
