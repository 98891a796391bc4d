"""The exactly-once slot ledger (ledger-semantics.md, rules R1-R7, R9, R10).

Pure and synchronous: evidence in, outcome out; no I/O, no clock. Persistence goes through
``take_changes()`` (a ChangeSet the journal writes in one transaction) and ``committed()``
(after which finished orders leave RAM). Finished orders are looked up through the
archive on a miss, so memory stays bounded while a replay after a week is still
recognised.
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Iterable, Iterator

from gridledger.domain.coid import ClientId, decode, encode
from gridledger.domain.grid import GridSpec
from gridledger.domain.numbers import ZERO, InputError, exact, fmt
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.changes import Archive, ChangeSet, MemoryArchive, SlotRow
from gridledger.ledger.evidence import Evidence, Fees, OrderEvidence, TradeEvidence
from gridledger.ledger.outcomes import Outcome, OutcomeKind
from gridledger.ledger.records import OrderRecord, TradeRec
from gridledger.ledger.slots import EMPTY, SlotState, contribute
from gridledger.logs import log_event

log = logging.getLogger("gridledger.ledger")

_FOREIGN = object()  # _locate's answer for evidence about someone else's order

APPLIED = OutcomeKind.APPLIED
DUPLICATE = OutcomeKind.DUPLICATE
STALE = OutcomeKind.STALE
FOREIGN = OutcomeKind.FOREIGN
PARKED = OutcomeKind.PARKED
REJECTED = OutcomeKind.REJECTED


@dataclass(slots=True, eq=False)
class Slot:
    """One grid level: a checkpoint plus the orders not yet folded into it."""

    level: int
    base: SlotState = EMPTY
    base_gen: int = 0
    next_gen: int = 0
    orders: list[OrderRecord] = field(default_factory=list)  # generation order
    state: SlotState = EMPTY

    def recompute(self, base: str, quote: str) -> None:
        state = self.base
        for rec in self.orders:
            state = _fold(state, rec, base, quote)
        self.state = state

    @property
    def bound(self) -> OrderRecord | None:
        """The slot's live order (the newest one, should evidence reveal two)."""
        for rec in reversed(self.orders):
            if rec.live:
                return rec
        return None

    @property
    def status(self) -> str:
        """Derived from the bound order alone: FREE (none), PENDING (an open buy working),
        LOCKED (a closing sell holds the inventory). Inventory is reported beside it."""
        bound = self.bound
        if bound is None:
            return "FREE"
        return "PENDING" if bound.role is Role.OPEN else "LOCKED"


def _fold(state: SlotState, rec: OrderRecord, base: str, quote: str) -> SlotState:
    filled, cost, fees = rec.effective()
    if filled == 0 and not fees:
        return state
    return contribute(
        state,
        rec.side,
        rec.role is Role.CLOSE,
        filled,
        cost,
        fees,
        base,
        quote,
        rec.status is OrderStatus.FILLED,
    )


def _fees_text(fees: Fees | None) -> str:
    if fees is None:
        return "?"
    return ",".join(f"{a}:{fmt(v)}" for a, v in fees)


class Ledger:
    def __init__(self, grid: GridSpec, archive: Archive | None = None) -> None:
        self.grid = grid
        self.symbol = grid.instrument.symbol
        self._base = grid.instrument.base
        self._quote = grid.instrument.settle or grid.instrument.quote
        self.archive: Archive = archive if archive is not None else MemoryArchive()
        self.slots: dict[int, Slot] = {}
        self._orders: dict[str, OrderRecord] = {}  # RAM: live orders and not yet evicted ones
        self._by_order_id: dict[str, str] = {}
        self._parked: dict[str, list[tuple[str, Evidence]]] = {}  # exchange order id -> (key, ev)
        self._parked_keys: set[str] = set()
        self.counts: Counter[str] = Counter({k.value: 0 for k in OutcomeKind})
        # R4 anomalies (overfills): opening orders pause while any is open. They are journaled
        # with the evidence that raised them and leave only through clear_anomalies().
        self.anomalies: list[str] = []
        self._anomalies_dirty = False
        # Pending writes for the next transaction.
        self._dirty_orders: dict[str, OrderRecord] = {}
        self._dirty_slots: set[int] = set()
        self._new_keys: dict[str, None] = {}
        self._parked_add: list[tuple[str, str, Evidence]] = []
        self._parked_done: list[str] = []
        self._evicting: list[str] = []
        self._recovered: set[str] = set()  # records rebuilt from their id: reconcile them

    # ------------------------------------------------------------------ queries
    # Ledger arithmetic runs in numbers.LEDGER_CONTEXT (exact, R5): every public entry point
    # that adds or folds decimals is wrapped with @exact.
    @property
    @exact
    def position(self) -> Decimal:
        return sum((s.state.qty for s in self.slots.values()), ZERO)

    @property
    @exact
    def realized_pnl(self) -> Decimal:
        return sum((s.state.realized for s in self.slots.values()), ZERO)

    @exact
    def fees(self) -> dict[str, Decimal]:
        total: dict[str, Decimal] = {}
        for slot in self.slots.values():
            for asset, amount in slot.state.fees:
                total[asset] = total.get(asset, ZERO) + amount
        return {a: v for a, v in sorted(total.items()) if v != 0}

    def live_orders(self) -> list[OrderRecord]:
        """Orders the ledger believes may still trade (every one of them is in RAM)."""
        return [r for r in self._orders.values() if r.live]

    def order(self, client_id: str) -> OrderRecord | None:
        rec = self._orders.get(client_id)
        return rec if rec is not None else self.archive.load_order(client_id)

    def order_by_exchange_id(self, order_id: str) -> OrderRecord | None:
        return self._find_by_order_id(order_id)

    def parked(self) -> Iterator[tuple[str, Evidence]]:
        for order_id, items in self._parked.items():
            for _, ev in items:
                yield order_id, ev

    @property
    def parked_order_ids(self) -> list[str]:
        return list(self._parked)

    @property
    def ram_orders(self) -> int:
        return len(self._orders)

    # ------------------------------------------------------------------ intents
    def new_order(self, level: int, side: Side, role: Role, amount: Decimal, price: Decimal) -> OrderRecord:
        """Allocate the next generation of a slot and record the order before it is sent (R7).

        The caller must persist ``take_changes()`` before sending, so that the generation
        is never reused after a crash.
        """
        slot = self._slot(level)
        cid = ClientId(self.grid.grid_id, level, side, role, slot.next_gen)
        rec = OrderRecord(
            client_id=encode(cid),
            level=level,
            side=side,
            role=role,
            generation=cid.generation,
            amount=amount,
            price=price,
        )
        slot.next_gen += 1
        self._adopt(rec, slot)
        self._dirty_slots.add(level)
        return rec

    # ------------------------------------------------------------------ evidence
    @exact
    def apply(self, ev: Evidence) -> Outcome:
        try:
            out = self._apply(ev)
        except InputError as exc:
            out = Outcome(REJECTED, reason=str(exc), client_id=ev.client_id, order_id=ev.order_id)
        self._record(out, ev)
        if self._parked and out.order_id in self._parked and out.order_id in self._by_order_id:
            out = replace(out, released=out.released + self._release_parked())
        return out

    def apply_all(self, items: Iterable[Evidence]) -> list[Outcome]:
        return [self.apply(ev) for ev in items]

    def reject(self, reason: str, **context: object) -> Outcome:
        """Count and log input that never became evidence (a line that is not JSON, say)."""
        out = Outcome(REJECTED, reason=reason)
        self.counts[REJECTED.value] += 1
        log_event(log, logging.WARNING, "evidence rejected", reason=reason, **context)
        return out

    def _apply(self, ev: Evidence) -> Outcome:
        if ev.symbol != self.symbol:
            raise InputError(f"symbol {ev.symbol!r} is not this grid's {self.symbol!r}")
        if isinstance(ev, TradeEvidence) and ev.amount <= 0:
            raise InputError(f"trade {ev.trade_id} has no quantity")
        rec = self._locate(ev)
        if rec is _FOREIGN:
            return self._foreign(ev)
        if rec is not None and ev.client_id and ev.client_id != rec.client_id:
            if decode(ev.client_id) is not None:
                raise InputError(
                    f"exchange order {ev.order_id} belongs to {rec.client_id}, evidence names {ev.client_id}"
                )
        if rec is None:
            if ev.order_id is None:
                raise InputError("evidence names neither an exchange order id nor a client order id")
            return self._park(ev)
        if ev.side is not None and ev.side is not rec.side:
            raise InputError(f"side {ev.side.value} contradicts {rec.client_id} ({rec.side.value})")
        if ev.order_id is not None and rec.order_id is not None and ev.order_id != rec.order_id:
            raise InputError(
                f"{rec.client_id} is exchange order {rec.order_id}, evidence says {ev.order_id}"
            )
        if isinstance(ev, TradeEvidence):
            return self._apply_trade(rec, ev)
        return self._apply_snapshot(rec, ev)

    def _locate(self, ev: Evidence) -> OrderRecord | object | None:
        """The record the evidence is about: RAM first, then the archive, then R7.

        The exchange order id wins over the client id (it is the venue's key). An id of ours
        whose generation the slot has never reached cannot be in the archive, so a new order
        costs no lookup in the store.
        """
        order_id, client_id = ev.order_id, ev.client_id
        if order_id is not None:
            known = self._by_order_id.get(order_id)
            if known is not None:
                return self._find_by_client_id(known)
        if client_id:
            rec = self._orders.get(client_id)
            if rec is not None:
                return rec
            cid = decode(client_id)
            if cid is not None and cid.grid_id == self.grid.grid_id:
                if ev.side is not None and ev.side is not cid.side:
                    # Checked before a record is made from the id: bad input creates nothing.
                    raise InputError(f"side {ev.side.value} contradicts {client_id} ({cid.side.value})")
                # Every level that ever had an order has a slot (restored with the journal).
                slot = self.slots.get(cid.level)
                if slot is not None and cid.generation < slot.next_gen:
                    rec = self._find_by_client_id(client_id)
                    if rec is not None:
                        return rec
                if (isinstance(ev, OrderEvidence) and ev.status is not None and ev.cost is None
                        and ev.price is None and ev.filled):
                    raise InputError("filled quantity without cost, average or limit price")
                return self._create_decoded(client_id, cid)
        if order_id is not None:
            rec = self._find_by_order_id(order_id)
            if rec is not None:
                return rec
        return _FOREIGN if client_id else None

    def _apply_trade(self, rec: OrderRecord, ev: TradeEvidence) -> Outcome:
        # R2: the same trade id with another amount or price is another fill. Decimals compare
        # by value, so "0.10" and "0.1" are the same quantity.
        key = (ev.trade_id, ev.amount, ev.price)
        known = rec.trades.get(key)
        if known is not None:
            if known.fees is None and ev.fees is not None:
                before = self._snapshot(rec)
                rec.complete_trade_fees(key, ev.fees)
                return self._settle(rec, before, ev, trade_id=ev.trade_id, reason="fee completed")
            self._link(rec, ev.order_id)
            return self._duplicate(rec, ev, f"trade {ev.trade_id} already applied")
        before = self._snapshot(rec)
        rec.add_trade(key, TradeRec(ev.amount, ev.price, ev.cost, ev.fees))
        self._touch(rec, ev.timestamp)
        return self._settle(rec, before, ev, trade_id=ev.trade_id)

    def _apply_snapshot(self, rec: OrderRecord, ev: OrderEvidence) -> Outcome:
        digest = (ev.status, ev.filled, ev.cost, ev.fees, ev.event_id)
        if digest in rec.seen:
            self._link(rec, ev.order_id)
            return self._duplicate(rec, ev, "snapshot already applied")
        before = self._snapshot(rec)
        if ev.status is not None and ev.status.terminal and ev.filled is None:
            # R6: a terminal status is final only with its filled quantity; ask for it.
            self._link(rec, ev.order_id)
            return Outcome(
                STALE,
                reason=f"{ev.status.value} without a filled quantity: query the order",
                client_id=rec.client_id,
                order_id=rec.order_id,
                level=rec.level,
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
        self._dirty_orders[rec.client_id] = rec
        if ev.amount is not None and rec.amount is None:
            rec.amount = ev.amount
        if ev.price is not None and rec.price is None:
            rec.price = ev.price
        if ev.status is not None:
            assert cost is not None
            rec.reported = ev.status.join(rec.reported)
            # R1: the snapshot watermark is one whole snapshot (filled, cost, cumulative fee),
            # the best by records.snapshot_rank; fees are never combined by a maximum.
            rec.offer_snapshot(filled, cost, ev.fees, ev.timestamp)
        rec.changed()
        self._touch(rec, ev.timestamp)
        return self._settle(rec, before, ev)

    # ------------------------------------------------------------------ settle
    def _snapshot(self, rec: OrderRecord) -> tuple:
        return (rec.status, rec.effective(), rec.order_id)

    def _settle(
        self,
        rec: OrderRecord,
        before: tuple,
        ev: Evidence,
        trade_id: str | None = None,
        reason: str = "",
    ) -> Outcome:
        self._link(rec, ev.order_id)
        status_before, (filled_before, _, _), order_id_before = before
        status_after = rec.status
        effective = rec.effective()
        # A snapshot ahead of the trades, from a source without cumulative fees (Binance),
        # means fills whose fees only their trades can tell: fetch them.
        gap = isinstance(ev, OrderEvidence) and rec.trade_gap > 0 and rec.snap_fees is None
        if self._recovered and rec.client_id in self._recovered:
            self._recovered.discard(rec.client_id)
            gap = True
        if (status_after, effective, rec.order_id) == (status_before, before[1], order_id_before):
            self._dirty_orders[rec.client_id] = rec
            return Outcome(
                STALE,
                reason=reason or "nothing new",
                client_id=rec.client_id,
                order_id=rec.order_id,
                level=rec.level,
                trade_id=trade_id,
                status_before=status_before,
                status_after=status_after,
                filled_before=filled_before,
                filled_after=effective[0],
            )
        warnings: list[str] = []
        filled_after = effective[0]
        if status_before is not None and status_before.terminal and filled_after > filled_before:
            warnings.append(
                f"{filled_after - filled_before} more filled after {status_before.value} (cancel/fill race)"
            )
        if rec.amount is not None and filled_after > rec.amount and not rec.overfill:
            rec.overfill = True
            note = f"overfill: {rec.client_id} filled {filled_after} of {rec.amount}"
            warnings.append(note)
            self.anomalies.append(note)
            self._anomalies_dirty = True
        slot = self._slot(rec.level)
        old = slot.state
        if rec.pre_state is not None or (rec not in slot.orders):
            self._rewind(slot, rec)
        slot.recompute(self._base, self._quote)
        self._dirty_orders[rec.client_id] = rec
        self._dirty_slots.add(rec.level)
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

    def _duplicate(self, rec: OrderRecord, ev: Evidence, reason: str) -> Outcome:
        return Outcome(
            DUPLICATE,
            reason=reason,
            client_id=rec.client_id,
            order_id=rec.order_id,
            level=rec.level,
            trade_id=ev.trade_id if isinstance(ev, TradeEvidence) else None,
            status_before=rec.status,
            status_after=rec.status,
            filled_before=rec.filled,
            filled_after=rec.filled,
        )

    # ------------------------------------------------------------------ orders
    def _slot(self, level: int) -> Slot:
        slot = self.slots.get(level)
        if slot is None:
            slot = self.slots[level] = Slot(level)
        return slot

    def _adopt(self, rec: OrderRecord, slot: Slot) -> None:
        """Put a record in RAM and in its slot's fold, in generation order."""
        self._orders[rec.client_id] = rec
        if rec.order_id is not None:
            self._by_order_id[rec.order_id] = rec.client_id
        if rec.generation >= slot.base_gen and rec not in slot.orders:
            gens = [r.generation for r in slot.orders]
            slot.orders.insert(bisect.bisect_right(gens, rec.generation), rec)
        self._dirty_orders[rec.client_id] = rec

    def _find_by_client_id(self, client_id: str) -> OrderRecord | None:
        rec = self._orders.get(client_id)
        if rec is None:
            rec = self.archive.load_order(client_id)
            if rec is not None:
                self._orders[client_id] = rec
                if rec.order_id is not None:
                    self._by_order_id[rec.order_id] = client_id
                if rec.pre_state is not None:
                    # Found in the archive: it leaves RAM again once written back.
                    self._evicting.append(client_id)
        return rec

    def _find_by_order_id(self, order_id: str) -> OrderRecord | None:
        client_id = self._by_order_id.get(order_id)
        if client_id is None:
            client_id = self.archive.client_id_for(order_id)
            if client_id is None:
                return None
        return self._find_by_client_id(client_id)

    def _create_decoded(self, client_id: str, cid: ClientId) -> OrderRecord:
        """R7: evidence for one of our ids that has no record (instant fill, lost database)."""
        slot = self._slot(cid.level)
        rec = OrderRecord(
            client_id=client_id,
            level=cid.level,
            side=cid.side,
            role=cid.role,
            generation=cid.generation,
        )
        if cid.generation >= slot.next_gen:
            slot.next_gen = cid.generation + 1
            self._dirty_slots.add(cid.level)
        self._orders[client_id] = rec
        self._recovered.add(client_id)
        if cid.generation >= slot.base_gen:
            self._adopt(rec, slot)
        log_event(log, logging.INFO, "order recovered from its client id", client_id=client_id,
                  level=cid.level, side=cid.side.value, role=cid.role.value, generation=cid.generation)
        return rec

    def _link(self, rec: OrderRecord, order_id: str | None) -> None:
        if order_id is None or rec.order_id is not None:
            return
        rec.order_id = order_id
        self._by_order_id[order_id] = rec.client_id
        self._dirty_orders[rec.client_id] = rec

    def _touch(self, rec: OrderRecord, ts: int | None) -> None:
        if ts is None:
            return
        if rec.first_ts is None or ts < rec.first_ts:
            rec.first_ts = ts
        if rec.last_ts is None or ts > rec.last_ts:
            rec.last_ts = ts

    def _rewind(self, slot: Slot, rec: OrderRecord) -> None:
        """Reopen a slot's fold from ``rec``'s generation (late evidence for a folded order).

        The orders folded since that generation come back into the slot's order list; the
        state before the earliest of them is its ``pre_state``. A RAM instance wins over
        the archive's row (it may be newer than the last commit), and archive rows at or
        above the current checkpoint are stale copies of orders that are in RAM already.
        """
        members: dict[str, OrderRecord] = {}
        for row in self.archive.load_folded(slot.level, rec.generation):
            if row.generation >= slot.base_gen:
                continue
            live = self._orders.get(row.client_id)
            if live is None:
                live = row
                self._orders[row.client_id] = row
                if row.order_id is not None:
                    self._by_order_id[row.order_id] = row.client_id
            if live.pre_state is None:
                continue
            members[live.client_id] = live
        reopened = sorted(members.values(), key=lambda r: r.generation)
        if reopened:
            slot.base = reopened[0].pre_state  # type: ignore[assignment]
        # else nothing was folded between rec and the checkpoint: slot.base is already the
        # state before rec (every folded order is older than rec).
        members[rec.client_id] = rec
        for other in slot.orders:
            members[other.client_id] = other
        for member in members.values():
            if member.pre_state is not None:
                member.pre_state = None
                self._dirty_orders[member.client_id] = member  # rewritten as unfolded or refolded
        slot.orders = sorted(members.values(), key=lambda r: r.generation)
        slot.base_gen = slot.orders[0].generation
        self._dirty_slots.add(slot.level)
        log_event(log, logging.INFO, "slot fold reopened", level=slot.level,
                  from_generation=rec.generation, orders=len(slot.orders))

    # ------------------------------------------------------------------ foreign / parked
    def _evidence_key(self, ev: Evidence) -> str:
        if isinstance(ev, TradeEvidence):
            return f"t|{self.grid.account}|{ev.symbol}|{ev.order_id}|{ev.client_id}|{ev.trade_id}|{fmt(ev.amount)}|{fmt(ev.price)}"
        return (
            f"s|{self.grid.account}|{ev.symbol}|{ev.order_id}|{ev.client_id}|"
            f"{ev.status.value if ev.status else '-'}|{ev.filled}|{ev.cost}|{_fees_text(ev.fees)}|{ev.event_id}"
        )

    def _seen_key(self, key: str) -> bool:
        return key in self._parked_keys or key in self._new_keys or self.archive.has_key(key)

    def _foreign(self, ev: Evidence) -> Outcome:
        key = self._evidence_key(ev)
        released = self._release_parked_as_foreign(ev.order_id)
        if ev.order_id is not None:
            marker = f"fo|{self.grid.account}|{ev.symbol}|{ev.order_id}"
            if not self._seen_key(marker):
                self._new_keys[marker] = None
        if self._seen_key(key):
            return Outcome(DUPLICATE, reason="foreign evidence seen before", client_id=ev.client_id,
                           order_id=ev.order_id, released=released)
        self._new_keys[key] = None
        return Outcome(FOREIGN, reason="not one of this grid's orders", client_id=ev.client_id,
                       order_id=ev.order_id, released=released)

    def _park(self, ev: Evidence) -> Outcome:
        assert ev.order_id is not None
        if self._seen_key(f"fo|{self.grid.account}|{ev.symbol}|{ev.order_id}"):
            return self._foreign(ev)
        key = self._evidence_key(ev)
        if self._seen_key(key):
            return Outcome(DUPLICATE, reason="parked evidence seen before", order_id=ev.order_id)
        self._parked.setdefault(ev.order_id, []).append((key, ev))
        self._parked_keys.add(key)
        self._parked_add.append((ev.order_id, key, ev))
        self._new_keys[key] = None
        return Outcome(PARKED, reason=f"exchange order {ev.order_id} is not known yet: query it",
                       order_id=ev.order_id, gap=True)

    def _release_parked_as_foreign(self, order_id: str | None) -> tuple[Outcome, ...]:
        if order_id is None or order_id not in self._parked:
            return ()
        items = self._parked.pop(order_id)
        outs = []
        for key, ev in items:
            self._parked_keys.discard(key)
            self._parked_done.append(key)
            self.counts[PARKED.value] -= 1
            out = Outcome(FOREIGN, reason="parked evidence belongs to a foreign order",
                          order_id=order_id, client_id=ev.client_id)
            self.counts[FOREIGN.value] += 1
            outs.append(out)
        return tuple(outs)

    def _release_parked(self) -> tuple[Outcome, ...]:
        """Apply parked evidence whose exchange order id has become known."""
        outs: list[Outcome] = []
        for order_id in [oid for oid in self._parked if oid in self._by_order_id]:
            items = self._parked.pop(order_id)
            for key, ev in items:
                self._parked_keys.discard(key)
                self._parked_done.append(key)
                self.counts[PARKED.value] -= 1
                out = self.apply(ev)
                outs.append(out)
        return tuple(outs)

    # ------------------------------------------------------------------ accounting
    def _record(self, out: Outcome, ev: Evidence) -> None:
        self.counts[out.kind.value] += 1
        kind = out.kind
        if kind is APPLIED:
            if out.warnings:
                log_event(log, logging.WARNING, "evidence applied with warnings", client_id=out.client_id,
                          order_id=out.order_id, level=out.level, warnings="; ".join(out.warnings))
            elif log.isEnabledFor(logging.DEBUG):
                log_event(log, logging.DEBUG, "evidence applied", client_id=out.client_id,
                          order_id=out.order_id, level=out.level, trade_id=out.trade_id,
                          status=out.status_after.value if out.status_after else None,
                          filled_before=out.filled_before, filled_after=out.filled_after,
                          slot_qty_delta=out.slot_qty_delta)
        elif kind is DUPLICATE:
            # A REST re-read of known state (reconciliation) is expected; a stream delivering
            # the same evidence twice is worth a line.
            level = logging.DEBUG if ev.source.startswith("rest") else logging.INFO
            if log.isEnabledFor(level):
                log_event(log, level, "duplicate evidence ignored", order_id=out.order_id,
                          client_id=out.client_id, reason=out.reason,
                          applied_status=out.status_before.value if out.status_before else None,
                          applied_filled=out.filled_before, arrived=_describe(ev))
        elif kind is REJECTED:
            log_event(log, logging.WARNING, "evidence rejected", reason=out.reason,
                      order_id=out.order_id, client_id=out.client_id, arrived=_describe(ev))
        elif kind is PARKED:
            log_event(log, logging.INFO, "evidence parked", order_id=out.order_id, reason=out.reason)
        elif log.isEnabledFor(logging.DEBUG):
            log_event(log, logging.DEBUG, f"evidence {kind.value.lower()}", order_id=out.order_id,
                      client_id=out.client_id, reason=out.reason)

    # ------------------------------------------------------------------ anomalies
    def clear_anomalies(self) -> list[str]:
        """A reconciliation found the venue agrees with the ledger: the anomalies are settled.

        R4 pauses opening orders until an overfill is reconciled; the engine calls this when
        a reconciliation reports no drift. The clearing is written with the next
        transaction, so a restart before it still finds the anomalies (and stays paused).
        Returns what was cleared.
        """
        cleared, self.anomalies = self.anomalies, []
        if cleared:
            self._anomalies_dirty = True
            log_event(log, logging.WARNING, "anomalies cleared by reconciliation", anomalies="; ".join(cleared))
        return cleared

    # ------------------------------------------------------------------ persistence
    @exact  # folds finished orders into checkpoints: slot arithmetic (R5)
    def take_changes(self) -> ChangeSet:
        """Everything to write in the next transaction; folds finished orders into checkpoints."""
        for level in sorted(self._dirty_slots):
            slot = self.slots[level]
            while slot.orders and slot.orders[0].terminal:
                rec = slot.orders.pop(0)
                rec.pre_state = slot.base
                slot.base = _fold(slot.base, rec, self._base, self._quote)
                slot.base_gen = rec.generation + 1
                self._dirty_orders[rec.client_id] = rec
                self._evicting.append(rec.client_id)
        changes = ChangeSet(
            orders=list(self._dirty_orders.values()),
            slots=[
                SlotRow(level, self.slots[level].base, self.slots[level].base_gen, self.slots[level].next_gen)
                for level in sorted(self._dirty_slots)
            ],
            keys=list(self._new_keys),
            parked_add=self._parked_add,
            parked_done=self._parked_done,
            evict=self._evicting,
            anomalies=tuple(self.anomalies) if self._anomalies_dirty else None,
        )
        self._anomalies_dirty = False
        self._dirty_orders = {}
        self._dirty_slots = set()
        self._new_keys = {}
        self._parked_add = []
        self._parked_done = []
        self._evicting = []
        return changes

    def committed(self, changes: ChangeSet) -> None:
        """The changes are durable: finished orders may leave RAM (R9)."""
        for client_id in changes.evict:
            rec = self._orders.get(client_id)
            if rec is None or rec.pre_state is None or client_id in self._dirty_orders:
                continue
            del self._orders[client_id]
            if rec.order_id is not None and self._by_order_id.get(rec.order_id) == client_id:
                del self._by_order_id[rec.order_id]

    def flush_to_memory(self) -> None:
        """For a ledger on a MemoryArchive: write and evict in one step."""
        changes = self.take_changes()
        if isinstance(self.archive, MemoryArchive):
            self.archive.write(changes)
        self.committed(changes)

    # ------------------------------------------------------------------ restore
    @exact
    def restore(
        self,
        slots: Iterable[SlotRow],
        orders: Iterable[OrderRecord],
        parked: Iterable[tuple[str, str, Evidence]],
        counts: dict[str, int] | None = None,
        anomalies: Iterable[str] = (),
    ) -> None:
        """Load the persisted state: slot checkpoints, unfolded orders, parked evidence and
        the anomalies no reconciliation has cleared yet (R4)."""
        self.anomalies = list(anomalies)
        self._anomalies_dirty = False
        for row in slots:
            self.slots[row.level] = Slot(row.level, base=row.base, base_gen=row.base_gen, next_gen=row.next_gen)
        for rec in orders:
            slot = self._slot(rec.level)
            self._adopt(rec, slot)
        for order_id, key, ev in parked:
            self._parked.setdefault(order_id, []).append((key, ev))
            self._parked_keys.add(key)
        for slot in self.slots.values():
            slot.recompute(self._base, self._quote)
        if counts:
            self.counts.update(counts)
        self._dirty_orders = {}
        self._dirty_slots = set()


def _describe(ev: Evidence) -> str:
    if isinstance(ev, TradeEvidence):
        return f"trade {ev.trade_id} {fmt(ev.amount)}@{fmt(ev.price)} fees={_fees_text(ev.fees)}"
    status = ev.status.value if ev.status else "ack"
    return f"{status} filled={fmt(ev.filled)} cost={fmt(ev.cost)} event={ev.event_id}"

