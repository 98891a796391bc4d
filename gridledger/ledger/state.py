"""What the ledger holds: slots, order records (in RAM or in the archive) and pending writes.

Records are found RAM first, then in the archive (R9): finished orders are folded into their
slot's checkpoint and leave RAM once written, so memory stays bounded while a replay after a
week is still recognised. Everything changed since the last transaction is marked here and
handed out by ``take()`` (rule R8: one transaction per piece of evidence).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable
from decimal import Decimal

from gridledger.domain.coid import ClientId
from gridledger.domain.ids import ClientOrderId, ExchangeOrderId
from gridledger.domain.numbers import ZERO, exact
from gridledger.domain.types import Direction
from gridledger.ledger.changes import Archive, SlotRow
from gridledger.ledger.records import OrderRecord
from gridledger.ledger.slots import GridTerms, Slot, fold_order
from gridledger.logs import log_event

log = logging.getLogger("gridledger.ledger")


class LedgerState:
    """Slots, the order index and the writes pending for the next transaction.

    Keyed by id text: evidence carries ids in their wire form (``str``), records typed ones.
    """

    def __init__(self, terms: GridTerms, archive: Archive) -> None:
        # What every slot fold needs, per level: the slot's direction (R5 arithmetic takes it
        # as a parameter; a neutral grid has both) and the base and quote assets (fees in
        # either change the slot's figures).
        self.terms = terms
        self.archive = archive
        self.slots: dict[int, Slot] = {}
        self.orders: dict[str, OrderRecord] = {}  # RAM: live orders and not yet evicted ones
        self.by_order_id: dict[str, ClientOrderId] = {}
        self.recovered: set[ClientOrderId] = set()  # records rebuilt from their id: reconcile them
        # R4 anomalies (overfills): opening orders pause while any is open. They are journaled
        # with the evidence that raised them and leave only through Ledger.clear_anomalies().
        self.anomalies: list[str] = []
        self.anomalies_dirty = False
        # Pending writes for the next transaction.
        self.dirty_orders: dict[ClientOrderId, OrderRecord] = {}
        self.dirty_slots: set[int] = set()
        self.evicting: list[ClientOrderId] = []

    # ------------------------------------------------------------------ queries
    # Ledger arithmetic runs in numbers.LEDGER_CONTEXT (exact, R5).
    @exact
    def position(self) -> Decimal:
        return sum((s.state.qty for s in self.slots.values()), ZERO)

    @exact
    def net_position(self) -> Decimal:
        """Long slots' inventory minus short slots' (owed) inventory: the position a venue
        reports for the grid's symbol in one-way mode."""
        total = ZERO
        for slot in self.slots.values():
            qty = slot.state.qty
            if qty and self.terms.at(slot.level).direction is Direction.SHORT:
                total -= qty
            else:
                total += qty
        return total

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

    # ------------------------------------------------------------------ records
    def slot(self, level: int) -> Slot:
        slot = self.slots.get(level)
        if slot is None:
            slot = self.slots[level] = Slot(level)
        return slot

    def adopt(self, rec: OrderRecord, slot: Slot) -> None:
        """Put a record in RAM and in its slot's fold, in generation order."""
        self.orders[rec.client_id] = rec
        if rec.order_id is not None:
            self.by_order_id[rec.order_id] = rec.client_id
        if rec.generation >= slot.checkpoint_gen and rec not in slot.orders:
            gens = [r.generation for r in slot.orders]
            slot.orders.insert(bisect.bisect_right(gens, rec.generation), rec)
        self.dirty_orders[rec.client_id] = rec

    def find_by_client_id(self, client_id: str) -> OrderRecord | None:
        rec = self.orders.get(client_id)
        if rec is None:
            rec = self.archive.load_order(client_id)
            if rec is not None:
                self.orders[client_id] = rec
                if rec.order_id is not None:
                    self.by_order_id[rec.order_id] = rec.client_id
                if rec.pre_state is not None:
                    # Found in the archive: it leaves RAM again once written back.
                    self.evicting.append(rec.client_id)
        return rec

    def find_by_order_id(self, order_id: str) -> OrderRecord | None:
        client_id: str | None = self.by_order_id.get(order_id)
        if client_id is None:
            client_id = self.archive.client_id_for(order_id)
            if client_id is None:
                return None
        return self.find_by_client_id(client_id)

    def create_decoded(self, client_id: str, cid: ClientId) -> OrderRecord:
        """R7: evidence for one of our ids that has no record (instant fill, lost database)."""
        slot = self.slot(cid.level)
        rec = OrderRecord(
            client_id=ClientOrderId(client_id),
            level=cid.level,
            side=cid.side,
            role=cid.role,
            generation=cid.generation,
        )
        if cid.generation >= slot.next_gen:
            slot.next_gen = cid.generation + 1
            self.dirty_slots.add(cid.level)
        self.orders[client_id] = rec
        self.recovered.add(rec.client_id)
        if cid.generation >= slot.checkpoint_gen:
            self.adopt(rec, slot)
        log_event(
            log,
            logging.INFO,
            "order recovered from its client id",
            client_id=client_id,
            level=cid.level,
            side=cid.side.value,
            role=cid.role.value,
            generation=cid.generation,
        )
        return rec

    def link(self, rec: OrderRecord, order_id: str | None) -> None:
        if order_id is None or rec.order_id is not None:
            return
        rec.order_id = ExchangeOrderId(order_id)  # the venue's id of this record from now on
        self.by_order_id[order_id] = rec.client_id
        self.dirty_orders[rec.client_id] = rec

    def rewind(self, slot: Slot, rec: OrderRecord) -> None:
        """Reopen a slot's fold from ``rec``'s generation (late evidence for a folded order).

        The orders folded since that generation come back into the slot's order list; the
        state before the earliest of them is its ``pre_state``. A RAM instance wins over
        the archive's row (it may be newer than the last commit), and archive rows at or
        above the current checkpoint are stale copies of orders that are in RAM already.
        """
        members: dict[ClientOrderId, OrderRecord] = {}
        for row in self.archive.load_folded(slot.level, rec.generation):
            if row.generation >= slot.checkpoint_gen:
                continue
            live = self.orders.get(row.client_id)
            if live is None:
                live = row
                self.orders[row.client_id] = row
                if row.order_id is not None:
                    self.by_order_id[row.order_id] = row.client_id
            if live.pre_state is None:
                continue
            members[live.client_id] = live
        reopened = sorted(members.values(), key=lambda r: r.generation)
        if reopened:
            first = reopened[0].pre_state
            assert first is not None  # members are only folded orders (pre_state set)
            slot.checkpoint = first
        # else nothing was folded between rec and the checkpoint: slot.checkpoint is already
        # the state before rec (every folded order is older than rec).
        members[rec.client_id] = rec
        for other in slot.orders:
            members[other.client_id] = other
        for member in members.values():
            if member.pre_state is not None:
                member.pre_state = None
                self.dirty_orders[member.client_id] = member  # rewritten as unfolded or refolded
        slot.orders = sorted(members.values(), key=lambda r: r.generation)
        slot.checkpoint_gen = slot.orders[0].generation
        self.dirty_slots.add(slot.level)
        log_event(
            log,
            logging.INFO,
            "slot fold reopened",
            level=slot.level,
            from_generation=rec.generation,
            orders=len(slot.orders),
        )

    # ------------------------------------------------------------------ persistence
    @exact  # folds finished orders into checkpoints: slot arithmetic (R5)
    def take(self) -> tuple[list[OrderRecord], list[SlotRow], list[ClientOrderId]]:
        """Fold finished orders into their checkpoints, then hand out and forget the pending
        writes: changed records, changed slots and the records that may leave RAM."""
        for level in sorted(self.dirty_slots):
            slot = self.slots[level]
            while slot.orders and slot.orders[0].terminal:
                rec = slot.orders.pop(0)
                rec.pre_state = slot.checkpoint
                slot.checkpoint = fold_order(slot.checkpoint, rec, self.terms.at(level))
                slot.checkpoint_gen = rec.generation + 1
                self.dirty_orders[rec.client_id] = rec
                self.evicting.append(rec.client_id)
        rows = [
            SlotRow(level, self.slots[level].checkpoint, self.slots[level].checkpoint_gen, self.slots[level].next_gen)
            for level in sorted(self.dirty_slots)
        ]
        taken = (list(self.dirty_orders.values()), rows, self.evicting)
        self.dirty_orders = {}
        self.dirty_slots = set()
        self.evicting = []
        return taken

    def committed(self, evict: Iterable[ClientOrderId]) -> None:
        """The changes are durable: finished orders may leave RAM (R9)."""
        for client_id in evict:
            rec = self.orders.get(client_id)
            if rec is None or rec.pre_state is None or client_id in self.dirty_orders:
                continue
            del self.orders[client_id]
            if rec.order_id is not None and self.by_order_id.get(rec.order_id) == client_id:
                del self.by_order_id[rec.order_id]

    @exact
    def restore(self, slots: Iterable[SlotRow], orders: Iterable[OrderRecord]) -> None:
        """Load slot checkpoints and the orders not folded into them, and refold the slots."""
        for row in slots:
            self.slots[row.level] = Slot(
                row.level, checkpoint=row.checkpoint, checkpoint_gen=row.checkpoint_gen, next_gen=row.next_gen
            )
        for rec in orders:
            self.adopt(rec, self.slot(rec.level))
        for slot in self.slots.values():
            slot.recompute(self.terms.at(slot.level))
        self.dirty_orders = {}
        self.dirty_slots = set()
