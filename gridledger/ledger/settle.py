"""Evidence applied to one of our order records, and the outcome it earns (R1-R6, R10).

The record was found by the ledger (``ledger.Ledger._locate``); what is decided here is
whether the evidence is new (R2 trade identity, snapshot digests), what it changes in the
record's watermarks (R1, R3, R6), and what that does to the record's slot (R4, R5).
Everything that can reject the evidence is checked before anything changes (R10).
"""

from __future__ import annotations

from typing import NamedTuple

from gridledger.domain.ids import ExchangeOrderId, TradeId
from gridledger.domain.numbers import ZERO, InputError
from gridledger.domain.types import OrderStatus, later_status
from gridledger.ledger.evidence import Evidence, OrderEvidence, TradeEvidence
from gridledger.ledger.outcomes import Outcome, OutcomeKind, quiet_outcome
from gridledger.ledger.records import Effective, OrderRecord, SnapshotDigest, TradeKey, TradeRec, new_named
from gridledger.ledger.state import LedgerState

APPLIED = OutcomeKind.APPLIED
DUPLICATE = OutcomeKind.DUPLICATE
STALE = OutcomeKind.STALE


class _Before(NamedTuple):
    """An order's settled figures before a piece of evidence: what an outcome compares."""

    status: OrderStatus | None
    effective: Effective
    order_id: ExchangeOrderId | None


def _before(rec: OrderRecord) -> _Before:
    return new_named(_Before, (rec.status, rec.effective(), rec.order_id))


def _touch(rec: OrderRecord, ts: int | None) -> None:
    if ts is None:
        return
    if rec.first_ts is None or ts < rec.first_ts:
        rec.first_ts = ts
    if rec.last_ts is None or ts > rec.last_ts:
        rec.last_ts = ts


def apply_trade(st: LedgerState, rec: OrderRecord, ev: TradeEvidence) -> Outcome:
    # R2: the same trade id with another amount or price is another fill. Decimals compare
    # by value, so "0.10" and "0.1" are the same quantity.
    key = new_named(TradeKey, (TradeId(ev.trade_id), ev.amount, ev.price))
    known = rec.trades.get(key)
    if known is not None:
        if known.fees is None and ev.fees is not None:
            before = _before(rec)
            rec.complete_trade_fees(key, ev.fees)
            return _settle(st, rec, before, ev, trade_id=key.trade_id, reason="fee completed")
        st.link(rec, ev.order_id)
        return _duplicate(rec, ev, f"trade {ev.trade_id} already applied")
    before = _before(rec)
    rec.add_trade(key, TradeRec(ev.amount, ev.price, ev.cost, ev.fees))
    _touch(rec, ev.timestamp)
    return _settle(st, rec, before, ev, trade_id=key.trade_id)


def apply_snapshot(st: LedgerState, rec: OrderRecord, ev: OrderEvidence) -> Outcome:
    digest = new_named(SnapshotDigest, (ev.status, ev.filled, ev.cost, ev.fees, ev.event_id))
    if digest in rec.seen:
        st.link(rec, ev.order_id)
        return _duplicate(rec, ev, "snapshot already applied")
    before = _before(rec)
    if ev.status is not None and ev.status.terminal and ev.filled is None:
        # R6: a terminal status is final only with its filled quantity; ask for it.
        st.link(rec, ev.order_id)
        return quiet_outcome(
            STALE,
            f"{ev.status.value} without a filled quantity: query the order",
            rec.client_id,
            rec.order_id,
            rec.level,
            None,
            None,
            None,
            ZERO,
            ZERO,
            gap=True,
        )
    # Everything that can reject the evidence is checked before anything changes (R10).
    filled = ev.filled if ev.filled is not None else ZERO
    cost = ev.cost
    if ev.status is not None and cost is None:
        price = rec.price if rec.price is not None else ev.price
        if filled == 0:
            cost = ZERO
        elif price is not None:
            # Our orders are limit orders and a maker fill is at the limit price.
            cost = price * filled
        else:
            raise InputError("filled quantity without cost, average or limit price")
    rec.seen.add(digest)
    st.dirty_orders[rec.client_id] = rec
    if ev.amount is not None and rec.amount is None:
        rec.amount = ev.amount
    if ev.price is not None and rec.price is None:
        rec.price = ev.price
    if ev.status is not None:
        assert cost is not None  # set above whenever a status is reported
        rec.reported = later_status(ev.status, rec.reported)
        # R1: the snapshot watermark is one whole snapshot (filled, cost, cumulative fee),
        # the best by records.snapshot_rank; fees are never combined by a maximum.
        rec.offer_snapshot(filled, cost, ev.fees, ev.timestamp)
    rec.changed()
    _touch(rec, ev.timestamp)
    return _settle(st, rec, before, ev)


def _settle(
    st: LedgerState,
    rec: OrderRecord,
    before: _Before,
    ev: Evidence,
    trade_id: TradeId | None = None,
    reason: str = "",
) -> Outcome:
    st.link(rec, ev.order_id)
    status_before, filled_before = before.status, before.effective.filled
    status_after = rec.status
    effective = rec.effective()
    # A snapshot ahead of the trades, from a source without cumulative fees (Binance),
    # means fills whose fees only their trades can tell: fetch them.
    gap = isinstance(ev, OrderEvidence) and rec.trade_gap > 0 and rec.snap_fees is None
    if st.recovered and rec.client_id in st.recovered:
        st.recovered.discard(rec.client_id)
        gap = True
    if (status_after, effective, rec.order_id) == before:
        st.dirty_orders[rec.client_id] = rec
        return quiet_outcome(
            STALE,
            reason or "nothing new",
            rec.client_id,
            rec.order_id,
            rec.level,
            trade_id,
            status_before,
            status_after,
            filled_before,
            effective.filled,
        )
    warnings: list[str] = []
    filled_after = effective.filled
    if status_before is not None and status_before.terminal and filled_after > filled_before:
        warnings.append(f"{filled_after - filled_before} more filled after {status_before.value} (cancel/fill race)")
    if rec.amount is not None and filled_after > rec.amount and not rec.overfill:
        rec.overfill = True
        note = f"overfill: {rec.client_id} filled {filled_after} of {rec.amount}"
        warnings.append(note)
        st.anomalies.append(note)  # R4: opening orders pause until a reconciliation clears it
        st.anomalies_dirty = True
    slot = st.slot(rec.level)
    old = slot.state
    if rec.pre_state is not None or (rec not in slot.orders):
        st.rewind(slot, rec)
    slot.recompute(st.terms.at(rec.level))
    st.dirty_orders[rec.client_id] = rec
    st.dirty_slots.add(rec.level)
    return Outcome(
        APPLIED,
        reason=reason,
        client_id=rec.client_id,
        order_id=rec.order_id,
        level=rec.level,
        trade_id=trade_id,
        status_before=status_before,
        status_after=status_after,
        filled_before=filled_before,
        filled_after=filled_after,
        slot_qty_delta=slot.state.qty - old.qty,
        realized_delta=slot.state.realized - old.realized,
        warnings=tuple(warnings),
        gap=gap,
    )


def _duplicate(rec: OrderRecord, ev: Evidence, reason: str) -> Outcome:
    # The record's status and filled are derived values: read once, not once per field.
    status, filled = rec.status, rec.filled
    trade_id = TradeId(ev.trade_id) if isinstance(ev, TradeEvidence) else None
    return quiet_outcome(
        DUPLICATE, reason, rec.client_id, rec.order_id, rec.level, trade_id, status, status, filled, filled
    )
