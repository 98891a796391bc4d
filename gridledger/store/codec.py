"""JSON encoding of ledger values for the journal: decimals as strings, never floats.

Decoding is strict: a stored value that is not what this module writes (malformed JSON, a
missing field, a number where a decimal string belongs, an unknown status) raises
``CodecError`` with one line naming the field, never a half-built record. A float read back
as a decimal would silently change a fill (R5), so decimals must be strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from gridledger.domain.ids import ClientOrderId, ExchangeOrderId, TradeId
from gridledger.domain.numbers import exact
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.fastjson import dumps_compact
from gridledger.ledger.evidence import Evidence, Fees, OrderEvidence, TradeEvidence
from gridledger.ledger.records import OrderRecord, SnapshotDigest, TradeKey, TradeRec
from gridledger.ledger.slots import SlotState

__all__ = [
    "CodecError",
    "evidence_from_json",
    "evidence_to_json",
    "record_from_json",
    "record_to_json",
    "state_from_obj",
    "state_to_obj",
]

_COMPACT = (",", ":")
_T = TypeVar("_T")


class CodecError(ValueError):
    """A stored value does not decode; the message is one line naming what and where."""


class _FieldError(CodecError):
    """A field's value is wrong; ``_decoding`` says in which value."""


def _decoding(what: str, fn: Callable[[], _T]) -> _T:
    try:
        return fn()
    except _FieldError as exc:
        raise CodecError(f"{what}: {exc}") from None
    except CodecError:
        raise  # already names its value (a slot state inside a record)
    except json.JSONDecodeError as exc:
        raise CodecError(f"{what}: not JSON ({exc.msg} at character {exc.pos})") from None
    except KeyError as exc:
        raise CodecError(f"{what}: field {exc.args[0]!r} is missing") from None
    except (ValueError, TypeError, IndexError, ArithmeticError) as exc:
        detail = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise CodecError(f"{what}: {detail}") from None


def _dec(value: object, name: str) -> Decimal:
    if not isinstance(value, str):
        raise _FieldError(f"field {name!r} must be a decimal string, got {type(value).__name__}")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise _FieldError(f"field {name!r} is not a decimal: {value[:40]!r}") from None


def _opt_dec(value: object, name: str) -> Decimal | None:
    return None if value is None else _dec(value, name)


def _d(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _fees_out(fees: Fees | None) -> list[list[str]] | None:
    return None if fees is None else [[a, str(v)] for a, v in fees]


def _fees_in(data: list[Any] | None) -> Fees | None:
    # None (fees unknown) and [] (known: none) differ: fees_incomplete() depends on it (R1).
    if data is None:
        return None
    fees = []
    for asset, value in data:
        if not isinstance(asset, str):
            raise _FieldError(f"a fee's asset must be a string, got {type(asset).__name__}")
        fees.append((asset, _dec(value, f"fee in {asset}")))
    return tuple(fees)


def state_to_obj(state: SlotState) -> list[Any]:
    return [str(state.qty), str(state.cost), str(state.realized), _fees_out(state.fees), state.round_trips]


def state_from_obj(data: list[Any]) -> SlotState:
    def build() -> SlotState:
        qty, cost, realized, fees, trips = data
        if isinstance(trips, bool) or not isinstance(trips, int):
            raise _FieldError(f"field 'round_trips' must be an integer, got {type(trips).__name__}")
        return SlotState(_dec(qty, "qty"), _dec(cost, "cost"), _dec(realized, "realized"), _fees_in(fees) or (), trips)

    return _decoding("stored slot state", build)


def _seen_out(digest: SnapshotDigest) -> list[Any]:
    status, filled, cost, fees, event_id = digest
    return [status.value if status else None, _d(filled), _d(cost), _fees_out(fees), event_id]


def _seen_in(data: list[Any]) -> SnapshotDigest:
    status, filled, cost, fees, event_id = data
    return SnapshotDigest(
        OrderStatus(status) if status else None,
        _opt_dec(filled, "seen filled"),
        _opt_dec(cost, "seen cost"),
        _fees_in(fees),
        event_id,
    )


def record_to_json(rec: OrderRecord) -> str:
    return dumps_compact(
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
    )


@exact  # add_trade sums trade quantities: exact, not rounded to 28 digits (R5)
def record_from_json(text: str) -> OrderRecord:
    return _decoding("stored order record", lambda: _record(json.loads(text)))


def _record(d: dict[str, Any]) -> OrderRecord:
    rec = OrderRecord(
        client_id=ClientOrderId(d["c"]),
        level=d["k"],
        side=Side(d["s"]),
        role=Role(d["r"]),
        generation=d["g"],
        order_id=None if d["o"] is None else ExchangeOrderId(d["o"]),
        amount=_opt_dec(d["a"], "amount"),
        price=_opt_dec(d["p"], "price"),
        reported=None if d["st"] is None else OrderStatus(d["st"]),
        snap_filled=_dec(d["sf"], "snapshot filled"),
        snap_cost=_dec(d["sc"], "snapshot cost"),
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
        a, p = _dec(amount, "trade amount"), _dec(price, "trade price")
        rec.add_trade(TradeKey(TradeId(trade_id), a, p), TradeRec(a, p, _dec(cost, "trade cost"), _fees_in(fees)))
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
    return dumps_compact(common)


def evidence_from_json(text: str) -> Evidence:
    return _decoding("stored evidence", lambda: _evidence(json.loads(text)))


def _evidence(d: dict[str, Any]) -> Evidence:
    side = Side(d["side"]) if d["side"] else None
    order_id = None if d["order_id"] is None else ExchangeOrderId(d["order_id"])
    client_id = None if d["client_id"] is None else ClientOrderId(d["client_id"])
    if d["kind"] == "trade":
        return TradeEvidence(
            symbol=d["symbol"],
            order_id=order_id,
            client_id=client_id,
            trade_id=TradeId(d["trade_id"]),
            side=side,
            amount=_dec(d["amount"], "amount"),
            price=_dec(d["price"], "price"),
            cost=_dec(d["cost"], "cost"),
            fees=_fees_in(d["fees"]),
            timestamp=d["timestamp"],
            source=d["source"],
        )
    if d["kind"] != "order":
        raise _FieldError(f"field 'kind' must be 'trade' or 'order', got {str(d['kind'])[:40]!r}")
    return OrderEvidence(
        symbol=d["symbol"],
        order_id=order_id,
        client_id=client_id,
        status=OrderStatus(d["status"]) if d["status"] else None,
        side=side,
        amount=_opt_dec(d["amount"], "amount"),
        price=_opt_dec(d["price"], "price"),
        filled=_opt_dec(d["filled"], "filled"),
        cost=_opt_dec(d["cost"], "cost"),
        fees=_fees_in(d["fees"]),
        timestamp=d["timestamp"],
        event_id=d["event_id"],
        source=d["source"],
    )
