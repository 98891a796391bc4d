"""The exactly-once slot ledger (ledger-semantics.md, rules R1-R7, R9, R10).

Pure and synchronous: evidence in, outcome out; no I/O, no clock. Persistence goes through
``take_changes()`` (a ChangeSet the journal writes in one transaction) and ``committed()``
(after which finished orders leave RAM). Finished orders are looked up through the
archive on a miss, so memory stays bounded while a replay after a week is still
recognised.

This module finds the record a piece of evidence is about (or parks it, or calls it
foreign); ``settle`` applies it to the record, ``state`` holds the slots and records, and
``parking`` the evidence that cannot be placed yet.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from decimal import Decimal
from enum import Enum

from gridledger.domain.coid import ClientId, decode, encode
from gridledger.domain.grid import GridSpec
from gridledger.domain.ids import ClientOrderId, client_order_id, exchange_order_id
from gridledger.domain.numbers import InputError, exact
from gridledger.domain.types import Role, Side
from gridledger.ledger.changes import Archive, ChangeSet, MemoryArchive, SlotRow
from gridledger.ledger.evidence import Evidence, OrderEvidence, TradeEvidence
from gridledger.ledger.outcomes import Outcome, OutcomeKind
from gridledger.ledger.parking import Parking
from gridledger.ledger.records import OrderRecord
from gridledger.ledger.settle import apply_snapshot, apply_trade
from gridledger.ledger.slots import GridTerms, Slot
from gridledger.ledger.state import LedgerState
from gridledger.logs import log_event

log = logging.getLogger("gridledger.ledger")

REJECTED = OutcomeKind.REJECTED


class _Foreign(Enum):
    """_locate's answer for evidence about someone else's order (a typed sentinel)."""

    ORDER = "foreign"


_FOREIGN = _Foreign.ORDER

# A ledger that nobody persists (no journal, nobody taking its changes) folds and evicts its
# finished orders itself every this many pieces of evidence, exactly as a journal's commit
# would: without it every apply refolds every order a slot ever had (quadratic, issue 12).
AUTO_FLUSH_EVERY = 100


class Ledger:
    def __init__(self, grid: GridSpec, archive: Archive | None = None) -> None:
        self.grid = grid
        self.symbol = grid.instrument.symbol
        # Each level's slot terms: its direction (long, short, or by level for a neutral grid)
        # and the assets its fees are counted in (R5).
        self._st = LedgerState(GridTerms(grid), archive if archive is not None else MemoryArchive())
        # Self-persisting while it owns its MemoryArchive and nobody else takes its changes.
        self._auto_flush = archive is None
        self._since_flush = 0
        self._version = 0  # see ``version``
        self.counts: Counter[str] = Counter({k.value: 0 for k in OutcomeKind})
        self._parking = Parking(grid.account, self.counts)  # evidence not placeable yet, foreign keys

    # ------------------------------------------------------------------ queries
    @property
    def archive(self) -> Archive:
        """Where finished orders and dedupe keys are looked up on a miss (R9)."""
        return self._st.archive

    @archive.setter
    def archive(self, archive: Archive) -> None:
        self._st.archive = archive
        self._auto_flush = False  # a journal (or another owner) persists it from now on

    @property
    def slots(self) -> dict[int, Slot]:
        return self._st.slots

    @property
    def anomalies(self) -> list[str]:
        """R4 anomalies (overfills): opening orders pause while any is open."""
        return self._st.anomalies

    @property
    def position(self) -> Decimal:
        """Inventory summed over the slots: held by long slots, owed by short ones."""
        return self._st.position()

    @property
    def net_position(self) -> Decimal:
        """Long slots' inventory minus short slots': what the venue's one-way position for
        the symbol should be. Equal to ``position`` for a long grid."""
        return self._st.net_position()

    @property
    def realized_pnl(self) -> Decimal:
        return self._st.realized_pnl()

    def fees(self) -> dict[str, Decimal]:
        return self._st.fees()

    def live_orders(self) -> list[OrderRecord]:
        """Orders the ledger believes may still trade (every one of them is in RAM)."""
        return [r for r in self._st.orders.values() if r.live]

    def order(self, client_id: str) -> OrderRecord | None:
        rec = self._st.orders.get(client_id)
        return rec if rec is not None else self.archive.load_order(client_id)

    def order_by_exchange_id(self, order_id: str) -> OrderRecord | None:
        return self._st.find_by_order_id(order_id)

    def parked(self) -> Iterator[tuple[str, Evidence]]:
        return self._parking.items()

    @property
    def parked_order_ids(self) -> list[str]:
        return self._parking.order_ids()

    @property
    def ram_orders(self) -> int:
        return len(self._st.orders)

    @property
    def version(self) -> int:
        """Grows whenever slots or order records may have changed (evidence, a new order, a
        restore): a reader that derives something from them (the engine's slot views) can
        keep its result while this stays the same. Folding finished orders into checkpoints
        does not count: it changes no slot's state and no live order."""
        return self._version

    # ------------------------------------------------------------------ intents
    def new_order(self, level: int, side: Side, role: Role, amount: Decimal, price: Decimal) -> OrderRecord:
        """Allocate the next generation of a slot and record the order before it is sent (R7).

        The caller must persist ``take_changes()`` before sending, so that the generation
        is never reused after a crash. An order whose side does not open or close the
        level's slot (or at a neutral grid's pivot) is a caller's bug: ``ValueError``.
        """
        wrong = self._wrong_side(level, side, role)
        if wrong is not None:
            raise ValueError(wrong)
        slot = self._st.slot(level)
        cid = ClientId(self.grid.grid_id, level, side, role, slot.next_gen)
        rec = OrderRecord(
            client_id=ClientOrderId(encode(cid)),
            level=level,
            side=side,
            role=role,
            generation=cid.generation,
            amount=amount,
            price=price,
        )
        slot.next_gen += 1
        self._version += 1
        self._st.adopt(rec, slot)
        self._st.dirty_slots.add(level)
        return rec

    # ------------------------------------------------------------------ evidence
    @exact
    def apply(self, ev: Evidence) -> Outcome:
        self._version += 1  # before anything: even a rejected piece may have linked an id
        try:
            out = self._apply(ev)
        except InputError as exc:
            out = Outcome(
                REJECTED,
                reason=str(exc),
                client_id=client_order_id(ev.client_id),
                order_id=exchange_order_id(ev.order_id),
            )
        # Counted here (R10); logged by the shell (engine/outcome_log.py), not by the ledger.
        self.counts[out.kind.value] += 1
        waiting = self._parking.waiting
        if waiting and out.order_id in waiting and out.order_id in self._st.by_order_id:
            out = replace(out, released=out.released + self._release_parked())
        if self._auto_flush:
            self._since_flush += 1
            if self._since_flush >= AUTO_FLUSH_EVERY:
                self._flush_self()
        return out

    def apply_all(self, items: Iterable[Evidence]) -> list[Outcome]:
        return [self.apply(ev) for ev in items]

    def reject(self, reason: str, **context: object) -> Outcome:
        """Count input that never became evidence (a line that is not JSON, say); the shell
        logs it with ``context`` (engine/outcome_log.py)."""
        out = Outcome(REJECTED, reason=reason)
        self.counts[REJECTED.value] += 1
        return out

    def _apply(self, ev: Evidence) -> Outcome:
        if ev.symbol != self.symbol:
            raise InputError(f"symbol {ev.symbol!r} is not this grid's {self.symbol!r}")
        if isinstance(ev, TradeEvidence) and ev.amount <= 0:
            raise InputError(f"trade {ev.trade_id} has no quantity")
        rec = self._locate(ev)
        if rec is _FOREIGN:
            return self._parking.foreign(ev, self.archive)
        if rec is not None and ev.client_id and ev.client_id != rec.client_id and decode(ev.client_id) is not None:
            raise InputError(f"exchange order {ev.order_id} belongs to {rec.client_id}, evidence names {ev.client_id}")
        if rec is None:
            if ev.order_id is None:
                raise InputError("evidence names neither an exchange order id nor a client order id")
            return self._parking.park(ev, self.archive)
        if ev.side is not None and ev.side is not rec.side:
            raise InputError(f"side {ev.side.value} contradicts {rec.client_id} ({rec.side.value})")
        if ev.order_id is not None and rec.order_id is not None and ev.order_id != rec.order_id:
            raise InputError(f"{rec.client_id} is exchange order {rec.order_id}, evidence says {ev.order_id}")
        if isinstance(ev, TradeEvidence):
            return apply_trade(self._st, rec, ev)
        return apply_snapshot(self._st, rec, ev)

    def _locate(self, ev: Evidence) -> OrderRecord | _Foreign | None:
        """The record the evidence is about: RAM first, then the archive, then R7.

        The exchange order id wins over the client id (it is the venue's key). An id of ours
        whose generation the slot has never reached cannot be in the archive, so a new order
        costs no lookup in the store.
        """
        order_id, client_id = ev.order_id, ev.client_id
        if order_id is not None:
            known = self._st.by_order_id.get(order_id)
            if known is not None:
                return self._st.find_by_client_id(known)
        if client_id:
            rec = self._st.orders.get(client_id)
            if rec is not None:
                return rec
            cid = decode(client_id)
            if cid is not None and cid.grid_id == self.grid.grid_id:
                if ev.side is not None and ev.side is not cid.side:
                    # Checked before a record is made from the id: bad input creates nothing.
                    raise InputError(f"side {ev.side.value} contradicts {client_id} ({cid.side.value})")
                wrong = self._wrong_side(cid.level, cid.side, cid.role)
                if wrong is not None:
                    # An id of ours that no order of this grid can carry (a buy opening a
                    # short slot, anything at a neutral grid's pivot): folding it would move
                    # a slot the wrong way (R5), so it is impossible evidence (R10).
                    raise InputError(f"{client_id}: {wrong}")
                # Every level that ever had an order has a slot (restored with the journal).
                slot = self._st.slots.get(cid.level)
                if slot is not None and cid.generation < slot.next_gen:
                    rec = self._st.find_by_client_id(client_id)
                    if rec is not None:
                        return rec
                if (
                    isinstance(ev, OrderEvidence)
                    and ev.status is not None
                    and ev.cost is None
                    and ev.price is None
                    and ev.filled
                ):
                    raise InputError("filled quantity without cost, average or limit price")
                return self._st.create_decoded(client_id, cid)
        if order_id is not None:
            rec = self._st.find_by_order_id(order_id)
            if rec is not None:
                return rec
        return _FOREIGN if client_id else None

    def _wrong_side(self, level: int, side: Side, role: Role) -> str | None:
        """Why an order of ``side`` and ``role`` cannot belong to the slot at ``level``, or
        None if it can: a long slot opens with a buy and closes with a sell, a short slot
        the other way round, and a neutral grid's pivot level has no slot at all."""
        direction = self.grid.level_direction(level)
        if direction is None:
            return f"level {level} is this neutral grid's pivot and holds no slot"
        expected = direction.opening_side if role is Role.OPEN else direction.closing_side
        if side is expected:
            return None
        return (
            f"{role.value} {side.value} at level {level}: a {direction.value} slot opens with a "
            f"{direction.opening_side.value} and closes with a {direction.closing_side.value}"
        )

    def _release_parked(self) -> tuple[Outcome, ...]:
        """Apply parked evidence whose exchange order id has become known."""
        outs: list[Outcome] = []
        for order_id in [oid for oid in self._parking.order_ids() if oid in self._st.by_order_id]:
            for ev in self._parking.pop(order_id):
                outs.append(self.apply(ev))
        return tuple(outs)

    # ------------------------------------------------------------------ anomalies
    def clear_anomalies(self) -> list[str]:
        """A reconciliation found the venue agrees with the ledger: the anomalies are settled.

        R4 pauses opening orders until an overfill is reconciled; the engine calls this when
        a reconciliation reports no drift. The clearing is written with the next
        transaction, so a restart before it still finds the anomalies (and stays paused).
        Returns what was cleared.
        """
        cleared, self._st.anomalies = self._st.anomalies, []
        if cleared:
            self._st.anomalies_dirty = True
            log_event(log, logging.WARNING, "anomalies cleared by reconciliation", anomalies="; ".join(cleared))
        return cleared

    # ------------------------------------------------------------------ persistence
    def take_changes(self) -> ChangeSet:
        """Everything to write in the next transaction; folds finished orders into checkpoints.

        The caller persists the ledger from now on: it no longer flushes itself."""
        self._auto_flush = False
        return self._take_changes()

    @exact  # folds finished orders into checkpoints: slot arithmetic (R5)
    def _take_changes(self) -> ChangeSet:
        orders, slots, evict = self._st.take()
        keys, parked_add, parked_done = self._parking.take_changes()
        changes = ChangeSet(
            orders=orders,
            slots=slots,
            keys=keys,
            parked_add=parked_add,
            parked_done=parked_done,
            evict=evict,
            anomalies=tuple(self._st.anomalies) if self._st.anomalies_dirty else None,
        )
        self._st.anomalies_dirty = False
        return changes

    def committed(self, changes: ChangeSet) -> None:
        """The changes are durable: finished orders may leave RAM (R9)."""
        self._st.committed(changes.evict)

    def flush_to_memory(self) -> None:
        """For a ledger on a MemoryArchive: write and evict in one step."""
        changes = self._take_changes()
        if isinstance(self.archive, MemoryArchive):
            self.archive.write(changes)
        self.committed(changes)

    def _flush_self(self) -> None:
        self._since_flush = 0
        self.flush_to_memory()

    @property
    def auto_flush(self) -> bool:
        """Whether this ledger folds and evicts finished orders by itself (no journal)."""
        return self._auto_flush

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
        self._version += 1
        self._st.anomalies = list(anomalies)
        self._st.anomalies_dirty = False
        self._st.restore(slots, orders)
        self._parking.restore(parked)
        if counts:
            self.counts.update(counts)
