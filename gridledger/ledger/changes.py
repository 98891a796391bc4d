"""What one transaction must persist (rule R8), and where finished orders live (R9).

The ledger never talks to storage directly: it accumulates a ``ChangeSet`` that the
journal writes in one transaction, and it looks up finished orders through an ``Archive``
on a miss. ``MemoryArchive`` is the archive of a ledger without a journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from gridledger.domain.ids import ClientOrderId
from gridledger.ledger.evidence import Evidence
from gridledger.ledger.records import OrderRecord
from gridledger.ledger.slots import SlotState


@dataclass(frozen=True, slots=True)
class SlotRow:
    level: int
    checkpoint: SlotState  # fold of every order below checkpoint_gen
    checkpoint_gen: int
    next_gen: int


class ParkedItem(NamedTuple):
    """Evidence parked until its exchange order id is known, with its dedupe key."""

    order_id: str  # the wire id: parked because no record knows it yet
    key: str
    evidence: Evidence


@dataclass(slots=True)
class ChangeSet:
    orders: list[OrderRecord] = field(default_factory=list)
    slots: list[SlotRow] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # dedupe keys of foreign and parked evidence
    parked_add: list[ParkedItem] = field(default_factory=list)
    parked_done: list[str] = field(default_factory=list)  # keys of parked evidence now resolved
    evict: list[ClientOrderId] = field(default_factory=list)  # may leave RAM once written
    # The ledger's whole anomaly list when it changed (R4: raised by evidence, or cleared by a
    # reconciliation), None when unchanged. Written in the same transaction as the evidence.
    anomalies: tuple[str, ...] | None = None

    def __bool__(self) -> bool:
        return bool(
            self.orders or self.slots or self.keys or self.parked_add or self.parked_done or self.anomalies is not None
        )


class Archive(Protocol):
    """Read access to what has been written: finished orders and dedupe keys."""

    def load_order(self, client_id: str) -> OrderRecord | None: ...

    def client_id_for(self, order_id: str) -> str | None: ...

    def load_folded(self, level: int, from_generation: int) -> list[OrderRecord]:
        """Orders of a slot already folded into its checkpoint, generation >= the given one."""
        ...

    def has_key(self, key: str) -> bool: ...


class MemoryArchive:
    """Keeps written records in dictionaries: the archive of a ledger without a journal."""

    def __init__(self) -> None:
        self.orders: dict[str, OrderRecord] = {}
        self.by_order_id: dict[str, ClientOrderId] = {}
        self.keys: set[str] = set()

    def load_order(self, client_id: str) -> OrderRecord | None:
        return self.orders.get(client_id)

    def client_id_for(self, order_id: str) -> ClientOrderId | None:
        return self.by_order_id.get(order_id)

    def load_folded(self, level: int, from_generation: int) -> list[OrderRecord]:
        found = [
            r
            for r in self.orders.values()
            if r.level == level and r.generation >= from_generation and r.pre_state is not None
        ]
        return sorted(found, key=lambda r: r.generation)

    def has_key(self, key: str) -> bool:
        return key in self.keys

    def write(self, changes: ChangeSet) -> None:
        for rec in changes.orders:
            self.orders[rec.client_id] = rec
            if rec.order_id is not None:
                self.by_order_id[rec.order_id] = rec.client_id
        self.keys.update(changes.keys)
