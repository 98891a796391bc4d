"""JSON encoding of ledger values for the journal: decimals as strings, never floats."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from gridledger.domain.numbers import exact
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.evidence import Evidence, Fees, OrderEvidence, TradeEvidence
from gridledger.ledger.records import OrderRecord, TradeRec
from gridledger.ledger.slots import SlotState


def _d(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _fees_out(fees: Fees | None) -> list | None:
    return None if fees is None else [[a, str(v)] for a, v in fees]


def _fees_in(data: list | None) -> Fees | None:
    return None if data is None else tuple((a, Decimal(v)) for a, v in data)


def state_to_obj(state: SlotState) -> list:
    return [str(state.qty), str(state.cost), str(state.realized), _fees_out(state.fees), state.round_trips]


def state_from_obj(data: list) -> SlotState:
    qty, cost, realized, fees, trips = data
    return SlotState(Decimal(qty), Decimal(cost), Decimal(realized), _fees_in(fees) or (), trips)


def _seen_out(digest: tuple) -> list:
    status, filled, cost, fees, event_id = digest
    return [status.value if status else None, _d(filled), _d(cost), _fees_out(fees), event_id]


def _seen_in(data: list) -> tuple:
    status, filled, cost, fees, event_id = data
    return (
        OrderStatus(status) if status else None,
        None if filled is None else Decimal(filled),
        None if cost is None else Decimal(cost),
        _fees_in(fees),
        event_id,
    )


def record_to_json(rec: OrderRecord) -> str:
    return json.dumps(
        {
            "c": rec.client_id,
            "k": rec.level,
            "s": rec.side.value,
            "r": rec.role.value,
            "g": rec.generation,
            "o": rec.order_id,
            "a": _d(rec.amount),
            "p": _d(rec.price),
            "st": rec.reported.value if rec.reported else None,
            "sf": str(rec.snap_filled),
            "sc": str(rec.snap_cost),
            "sx": _fees_out(rec.snap_fees),
            "sts": rec.snap_ts,
            "t": [[k[0], str(t.amount), str(t.price), str(t.cost), _fees_out(t.fees)] for k, t in rec.trades.items()],
            "seen": [_seen_out(d) for d in rec.seen],
            "ts": [rec.first_ts, rec.last_ts],
            "of": rec.overfill,
            "pre": state_to_obj(rec.pre_state) if rec.pre_state is not None else None,
        },
        separators=(",", ":"),
    )


@exact  # add_trade sums trade quantities: exact, not rounded to 28 digits (R5)
def record_from_json(text: str) -> OrderRecord:
    d = json.loads(text)
    rec = OrderRecord(
        client_id=d["c"],
        level=d["k"],
        side=Side(d["s"]),
        role=Role(d["r"]),
        generation=d["g"],
        order_id=d["o"],
        amount=None if d["a"] is None else Decimal(d["a"]),
        price=None if d["p"] is None else Decimal(d["p"]),
        reported=None if d["st"] is None else OrderStatus(d["st"]),
        snap_filled=Decimal(d["sf"]),
        snap_cost=Decimal(d["sc"]),
        snap_fees=_fees_in(d["sx"]),
        # "sts" (the kept snapshot's time, R1 tie-break) is new in this version. Records
        # written before it load with None, which ranks below any time: the next report of
        # the same quantity replaces the kept snapshot, which is right, since those records
        # kept the per-asset maximum of the fees instead of one snapshot's. No schema bump.
        snap_ts=d.get("sts"),
        seen={_seen_in(x) for x in d["seen"]},
        first_ts=d["ts"][0],
        last_ts=d["ts"][1],
        overfill=d["of"],
        pre_state=None if d["pre"] is None else state_from_obj(d["pre"]),
    )
    for trade_id, amount, price, cost, fees in d["t"]:
        a, p = Decimal(amount), Decimal(price)
        rec.add_trade((trade_id, a, p), TradeRec(a, p, Decimal(cost), _fees_in(fees)))
    return rec


def evidence_to_json(ev: Evidence) -> str:
    common: dict[str, Any] = {
        "symbol": ev.symbol,
        "order_id": ev.order_id,
        "client_id": ev.client_id,
        "side": ev.side.value if ev.side else None,
        "timestamp": ev.timestamp,
        "source": ev.source,
    }
    if isinstance(ev, TradeEvidence):
        common.update(
            kind="trade",
            trade_id=ev.trade_id,
            amount=str(ev.amount),
            price=str(ev.price),
            cost=str(ev.cost),
            fees=_fees_out(ev.fees),
        )
    else:
        common.update(
            kind="order",
            status=ev.status.value if ev.status else None,
            amount=_d(ev.amount),
            price=_d(ev.price),
            filled=_d(ev.filled),
            cost=_d(ev.cost),
            fees=_fees_out(ev.fees),
            event_id=ev.event_id,
        )
    return json.dumps(common, separators=(",", ":"))


def evidence_from_json(text: str) -> Evidence:
    d = json.loads(text)
    side = Side(d["side"]) if d["side"] else None
    if d["kind"] == "trade":
        return TradeEvidence(
            symbol=d["symbol"],
            order_id=d["order_id"],
            client_id=d["client_id"],
            trade_id=d["trade_id"],
            side=side,
            amount=Decimal(d["amount"]),
            price=Decimal(d["price"]),
            cost=Decimal(d["cost"]),
            fees=_fees_in(d["fees"]),
            timestamp=d["timestamp"],
            source=d["source"],
        )

    def opt(name: str) -> Decimal | None:
        return None if d[name] is None else Decimal(d[name])

    return OrderEvidence(
        symbol=d["symbol"],
        order_id=d["order_id"],
        client_id=d["client_id"],
        status=OrderStatus(d["status"]) if d["status"] else None,
        side=side,
        amount=opt("amount"),
        price=opt("price"),
        filled=opt("filled"),
        cost=opt("cost"),
        fees=_fees_in(d["fees"]),
        timestamp=d["timestamp"],
        event_id=d["event_id"],
        source=d["source"],
    )
