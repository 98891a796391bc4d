"""OKX v5: ``orders`` and ``fills`` channel pushes, trade REST answers and acks.

Field table: corpus README §2, column "OKX v5 orders channel"; stream notes §3 "OKX v5";
edge cases §5 (5)-(8).

Conventions that differ from the other venues:

- Contracts: for SWAP / FUTURES / OPTION ``sz``, ``accFillSz`` and ``fillSz`` count
  contracts (row (d), §5.7) and are multiplied by ``instrument.contract_size``. SPOT and
  MARGIN count base units, except ``sz`` of a quote-sized spot order (``tgtCcy ==
  "quote_ccy"``), which is in quote: its base amount is unknown → ``amount=None``, while
  ``accFillSz`` stays base (§5.6).
- Fee sign: OKX ``fee``/``fillFee`` are negative when charged and positive for a rebate
  (row (h)); ours are the opposite, so the sign is flipped. The asset is kept as reported,
  which may be the base asset on spot buys (§5.8).
- ``fillSz``/``fillPx``/``tradeId`` of a *push* describe the fill of this update; in REST
  order rows they mean the order's *last* fill (row (e)), so REST order rows never yield
  trades. The state-only ``filled`` push with ``fillSz`` 0 and no ``tradeId`` yields only
  the order (§5.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import ONE, InputError
from gridledger.domain.types import OrderStatus
from gridledger.ledger.evidence import Evidence, OrderEvidence, Parsed, TradeEvidence
from gridledger.venues.common import (
    ZERO,
    collect,
    each,
    fee_pair,
    guarded,
    is_map,
    lookup_status,
    need_map,
    opt_client_id,
    opt_decimal,
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

__all__ = ["ALGO_ORD_TYPES", "STATUS", "algo_reason", "parse_okx"]

# corpus README §2 row (c), column 3.
STATUS: dict[str, OrderStatus | None] = {
    "live": OrderStatus.NEW,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "mmp_canceled": OrderStatus.CANCELED,
}

_CONTRACT_TYPES = frozenset({"SWAP", "FUTURES", "OPTION"})
_BASE_TYPES = frozenset({"SPOT", "MARGIN"})

_OR = "okx order field "
OR_ID = _OR + "ordId (order id)"
OR_CID = _OR + "clOrdId (client order id)"
OR_INST = _OR + "instId (symbol)"
OR_TYPE = _OR + "instType"
OR_STATE = _OR + "state (order status)"
OR_SIDE = _OR + "side"
OR_SZ = _OR + "sz (order size)"
OR_PX = _OR + "px (order price)"
OR_ACC = _OR + "accFillSz (cumulative filled)"
OR_AVG = _OR + "avgPx (average price)"
OR_FEE = _OR + "fee (cumulative fee)"
OR_FEEC = _OR + "feeCcy"
OR_UT = _OR + "uTime (update time)"
OR_TID = _OR + "tradeId (trade id)"
OR_FSZ = _OR + "fillSz (fill size)"
OR_FPX = _OR + "fillPx (fill price)"
OR_FFEE = _OR + "fillFee"
OR_FFEEC = _OR + "fillFeeCcy"
OR_FT = _OR + "fillTime"

_FL = "okx fill field "
FL_ID = _FL + "ordId (order id)"
FL_CID = _FL + "clOrdId (client order id)"
FL_INST = _FL + "instId (symbol)"
FL_TYPE = _FL + "instType"
FL_TID = _FL + "tradeId (trade id)"
FL_SIDE = _FL + "side"
FL_SZ = _FL + "fillSz (fill size)"
FL_PX = _FL + "fillPx (fill price)"
FL_FEE = _FL + "fee"
FL_FEEC = _FL + "feeCcy"
FL_TS = _FL + "fillTime/ts (time)"

_AK = "okx ack field "
AK_ID = _AK + "ordId (order id)"
AK_CID = _AK + "clOrdId (client order id)"
AK_TS = _AK + "ts"


# ordType of OKX algo orders (trade/order-algo): trigger, stop, take-profit, trailing and
# execution algos. Such an order rests on OKX's side until it triggers and places an
# ordinary order, whose own rows (ordId set, algoId naming the parent) are the evidence.
ALGO_ORD_TYPES = frozenset({"conditional", "oco", "trigger", "move_order_stop", "iceberg", "twap", "chase"})
ALGO_SKIP = "okx algo (trigger) order: not order evidence until it places an order"


def algo_reason(row: Mapping[str, Any]) -> str | None:
    """The skip reason for an algo order row (orders-algo push, orders-algo REST, algo
    place/cancel ack), else ``None``.

    Algo rows carry an ``algoId`` and no ``ordId`` (or an algo ``ordType``); they used to
    fail with "ordId is empty" and count as REJECTED. The grid never places algo orders,
    so such a row says nothing about our slots (R7: it is someone else's kind of order).
    An ordinary order placed by a triggered algo (``ordId`` set, ``algoId`` naming the
    parent, ordinary ``ordType``) is parsed as order evidence as usual.
    """
    algo_id = row.get("algoId")
    if algo_id is None or algo_id == "":
        return None
    order_id = row.get("ordId")
    ord_type = row.get("ordType")
    if order_id is None or order_id == "" or (type(ord_type) is str and ord_type in ALGO_ORD_TYPES):
        return ALGO_SKIP
    return None


def _contract(row: Mapping[str, Any], inst_type: object, label: str) -> bool:
    """Whether this row counts contracts (SWAP/FUTURES/OPTION) rather than base units.

    ``instType`` decides; the ``fills`` channel has none, so the instrument id does
    (spot ids have one dash: ``BTC-USDT``; ``BTC-USDT-SWAP``, ``BTC-USD-240628`` more).
    """
    if inst_type is None or inst_type == "" or inst_type == "ANY":  # "ANY": subscription arg
        inst_id = row.get("instId")
        return type(inst_id) is str and inst_id.count("-") >= 2
    if type(inst_type) is str:
        if inst_type in _BASE_TYPES:
            return False
        if inst_type in _CONTRACT_TYPES:
            return True
    raise InputError(f"unknown instrument type {show(inst_type)} in {label}")


def _multiplier(contract: bool, instrument: Instrument) -> Decimal | None:
    """Contract size for contract rows; ``None`` (no multiplication) for base-unit rows and
    size 1, which keeps the multiplication off the hot path."""
    if not contract:
        return None
    size = instrument.contract_size
    return None if size == ONE else size


def order_row(
    row: Mapping[str, Any], instrument: Instrument, source: str, *, push: bool, inst_type: object = None
) -> list[Evidence]:
    """One ``orders`` channel row (``push=True``) or REST order row (``push=False``)."""
    order_id = req_id(row.get("ordId"), OR_ID)
    row_type = row.get("instType")
    contract = _contract(row, row_type if row_type is not None else inst_type, OR_TYPE)
    symbol = symbol_of(row.get("instId"), OR_INST, instrument, not contract)
    client_id = opt_client_id(row.get("clOrdId"), OR_CID)
    status = lookup_status(STATUS, row.get("state"), OR_STATE)
    mult = _multiplier(contract, instrument)
    filled = qty(row.get("accFillSz"), OR_ACC, mult)
    size = opt_qty(row.get("sz"), OR_SZ, mult)
    if row.get("tgtCcy") == "quote_ccy":
        size = None  # sz is in quote (§5.6); the base amount is not known up front
    average = opt_decimal(row.get("avgPx"), OR_AVG)
    raw_fee = row.get("fee")
    side = opt_side(row.get("side"), OR_SIDE)
    timestamp = opt_ts(row.get("uTime"), OR_UT)
    order = OrderEvidence(
        symbol=symbol,
        order_id=order_id,
        client_id=client_id,
        status=status,
        side=side,
        amount=size or None,
        price=price_or_none(row.get("px"), OR_PX),
        filled=filled,
        # avgPx is per base unit, accFillSz already converted to base above.
        cost=average * filled if average is not None else (ZERO if not filled else None),
        fees=None
        if raw_fee is None or raw_fee == ""
        else fee_pair(raw_fee, row.get("feeCcy"), OR_FEE, OR_FEEC, flip=True),
        timestamp=timestamp,
        source=source,
    )
    if not push:
        return [order]
    trade_id = row.get("tradeId")
    if trade_id is None or trade_id == "":
        return [order]
    fill_size = opt_qty(row.get("fillSz"), OR_FSZ, mult)
    if not fill_size:
        return [order]
    price = to_price(row.get("fillPx"), OR_FPX)
    fill_time = opt_ts(row.get("fillTime"), OR_FT)
    trade = TradeEvidence(
        symbol=symbol,
        order_id=order_id,
        client_id=client_id,
        trade_id=req_id(trade_id, OR_TID),
        side=side,
        amount=fill_size,
        price=price,
        cost=price * fill_size,
        fees=fee_pair(row.get("fillFee"), row.get("fillFeeCcy"), OR_FFEE, OR_FFEEC, flip=True),
        timestamp=fill_time if fill_time is not None else timestamp,
        source=source,
    )
    return [trade, order]


def fill_row(
    row: Mapping[str, Any], instrument: Instrument, source: str, *, with_fee: bool, inst_type: object = None
) -> TradeEvidence:
    """A ``fills`` channel row (no fee: ``with_fee=False``) or a /trade/fills REST row."""
    row_type = row.get("instType")
    contract = _contract(row, row_type if row_type is not None else inst_type, FL_TYPE)
    mult = _multiplier(contract, instrument)
    amount = qty(row.get("fillSz"), FL_SZ, mult)
    price = to_price(row.get("fillPx"), FL_PX)
    timestamp = opt_ts(row.get("fillTime"), FL_TS)
    if timestamp is None:
        timestamp = opt_ts(row.get("ts"), FL_TS)
    return TradeEvidence(
        symbol=symbol_of(row.get("instId"), FL_INST, instrument, not contract),
        order_id=req_id(row.get("ordId"), FL_ID),
        client_id=opt_client_id(row.get("clOrdId"), FL_CID),
        trade_id=req_id(row.get("tradeId"), FL_TID),
        side=opt_side(row.get("side"), FL_SIDE),
        amount=amount,
        price=price,
        cost=price * amount,
        fees=fee_pair(row.get("fee"), row.get("feeCcy"), FL_FEE, FL_FEEC, flip=True) if with_fee else None,
        timestamp=timestamp,
        source=source,
    )


def _ack_row(row: Mapping[str, Any], instrument: Instrument, source: str) -> OrderEvidence | str:
    """Place/cancel/amend ack: links ids (status ``None``) or names why it failed.

    Ack rows carry no ``instId``; the request named the caller's instrument, so its
    symbol is used.
    """
    code = row.get("sCode")
    if code != "0" and code != 0:
        return f"okx request failed: sCode {show(code)}: {show(row.get('sMsg'), 200)}"
    algo = algo_reason(row)  # an algo order's place/cancel/amend ack: no ordId to link
    if algo is not None:
        return algo
    return OrderEvidence(
        symbol=instrument.symbol,
        order_id=req_id(row.get("ordId"), AK_ID),
        client_id=opt_client_id(row.get("clOrdId"), AK_CID),
        status=None,
        timestamp=opt_ts(row.get("ts"), AK_TS),
        source=source,
    )


def _rows(data: object, label: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if data is None:
        raise InputError(f"{label} is missing")
    raise InputError(f"{label} must be a list, got {show(data)}")


def _push(payload: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    arg = need_map(payload.get("arg"), "okx push field arg")
    channel = arg.get("channel")
    rows = _rows(payload.get("data"), "okx push field data")
    inst_type = arg.get("instType")
    items: list[Evidence] = []
    if channel == "orders":
        reasons: list[str] = []
        for row in rows:
            row = need_map(row, "okx orders data[] row")
            algo = algo_reason(row)
            if algo is not None:
                if algo not in reasons:
                    reasons.append(algo)
                continue
            items.extend(order_row(row, instrument, source, push=True, inst_type=inst_type))
        return collect(items, reasons)
    if channel == "fills":
        for row in rows:
            items.append(
                fill_row(need_map(row, "okx fills data[] row"), instrument, source, with_fee=False, inst_type=inst_type)
            )
        return collect(items, [])
    if type(channel) is str and channel:
        return Parsed((), f"okx {channel} channel (not order evidence)")
    raise InputError(f"okx push field arg.channel must be a channel name, got {show(channel)}")


def _rest(payload: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    code = payload.get("code")
    rows = payload.get("data")
    if code != "0" and code != 0:
        detail = ""
        if isinstance(rows, list) and rows and is_map(rows[0]) and rows[0].get("sMsg"):
            detail = f" ({show(rows[0].get('sCode'))}: {show(rows[0].get('sMsg'), 200)})"
        raise InputError(f"okx error code {show(code)}: {show(payload.get('msg'), 200)}{detail}")
    rows = _rows(rows, "okx response field data")
    items: list[Evidence] = []
    reasons: list[str] = []
    for row in rows:
        row = need_map(row, "okx response data[] row")
        algo = None if "sCode" in row else algo_reason(row)
        if algo is not None:
            if algo not in reasons:
                reasons.append(algo)
        elif "sCode" in row:
            ack = _ack_row(row, instrument, source)
            if isinstance(ack, str):
                reasons.append(ack)
            else:
                items.append(ack)
        elif "state" in row:
            # REST order rows: fillSz/fillPx/tradeId are the LAST fill (row (e)) → no trades.
            items.extend(order_row(row, instrument, source, push=False))
        elif "tradeId" in row and "fillSz" in row:
            items.append(fill_row(row, instrument, source, with_fee=True))
        else:
            raise InputError(
                f"okx response row is neither an order, a fill nor an ack; keys: {show(list(row)[:12], 200)}"
            )
    return collect(items, reasons)


def _event(payload: Mapping[str, Any]) -> Parsed:
    event = payload.get("event")
    if event == "error":
        # Failed subscribe/login answers come as event "error"; a "notice" also carries a
        # non-zero code (64008, reconnect soon) but is not an error.
        raise InputError(f"okx error event code {show(payload.get('code'))}: {show(payload.get('msg'), 200)}")
    if type(event) is str and event:
        return Parsed((), f"okx {event} event (not order evidence)")
    raise InputError(f"okx field event must be an event name, got {show(event)}")


def bare_row(row: Mapping[str, Any], instrument: Instrument, source: str) -> Parsed:
    """A single data row without its envelope, e.g. the ``info`` of a ccxt order or trade.

    Push and REST order rows look alike; only push rows carry ``fillFee`` (and
    ``fillFeeCcy``, ``execType``, ``reqId``), so only those yield a trade from their
    ``fillSz``/``tradeId`` (corpus README §2 row (e)). Fill rows with a ``fee`` are
    /trade/fills rows; without one, ``fills`` channel rows (fee unknown).
    """
    algo = None if "sCode" in row else algo_reason(row)
    if algo is not None:
        return Parsed((), algo)
    if "sCode" in row:
        ack = _ack_row(row, instrument, source)
        return Parsed((), ack) if isinstance(ack, str) else Parsed((ack,))
    if "state" in row:
        return Parsed(tuple(order_row(row, instrument, source, push="fillFee" in row)))
    if "tradeId" in row and "fillSz" in row:
        return Parsed((fill_row(row, instrument, source, with_fee="fee" in row),))
    raise InputError(f"not an okx message (no arg, event, code or order fields); keys: {show(list(row)[:12], 200)}")


def _one(payload: Any, instrument: Instrument, source: str) -> Parsed:
    if not is_map(payload):
        raise InputError(f"okx message must be a JSON object or list, got {type(payload).__name__}: {show(payload)}")
    if "event" in payload:
        return _event(payload)
    if "arg" in payload:
        return _push(payload, instrument, source)
    # Push rows carry a per-row "code" too, so the REST envelope is told by data/msg
    # without an order id.
    if "code" in payload and ("data" in payload or ("msg" in payload and "ordId" not in payload)):
        return _rest(payload, instrument, source)
    return bare_row(payload, instrument, source)


def _parse(payload: Any, instrument: Instrument, source: str) -> Parsed:
    if isinstance(payload, list):
        return each(payload, _one, instrument, source)
    return _one(payload, instrument, source)


@guarded
def parse_okx(payload: Any, instrument: Instrument, source: str = "") -> Parsed:
    """Parse one OKX push, WebSocket event or REST answer (see the module docstring)."""
    return _parse(payload, instrument, source)
