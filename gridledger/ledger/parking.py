"""Evidence the ledger cannot place yet, and evidence that is not ours (R7, R10).

Evidence naming only an exchange order id no record knows is *parked* until a record is
linked to that id (then the ledger applies it) or the id turns out to be someone else's
(then it is released as FOREIGN). Foreign and parked evidence is deduplicated by a key of
its content, so a replay of it is a DUPLICATE, also after a restart (the keys are written
with the next transaction, ``changes.ChangeSet.keys``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from gridledger.domain.ids import ExchangeOrderId, client_order_id, exchange_order_id
from gridledger.domain.numbers import fmt
from gridledger.ledger.changes import Archive, ParkedItem
from gridledger.ledger.evidence import Evidence, Fees, TradeEvidence
from gridledger.ledger.outcomes import Outcome, OutcomeKind

DUPLICATE = OutcomeKind.DUPLICATE
FOREIGN = OutcomeKind.FOREIGN
PARKED = OutcomeKind.PARKED


def _fees_text(fees: Fees | None) -> str:
    if fees is None:
        return "?"
    return ",".join(f"{a}:{fmt(v)}" for a, v in fees)


class Parking:
    """Parked evidence by exchange order id, and the dedupe keys of foreign and parked evidence.

    ``counts`` is the ledger's outcome tally: releasing parked evidence moves its count from
    PARKED to what it became.
    """

    def __init__(self, account: str, counts: Counter[str]) -> None:
        self._account = account
        self._counts = counts
        # Exchange order id -> (key, evidence), in arrival order. Read-only outside this class
        # (the ledger tests it on every piece of evidence: a dict test, not a method call).
        self.waiting: dict[str, list[tuple[str, Evidence]]] = {}
        self._keys: set[str] = set()  # keys of the evidence parked now
        # Pending writes for the next transaction.
        self._new_keys: dict[str, None] = {}
        self._added: list[ParkedItem] = []
        self._done: list[str] = []

    # ------------------------------------------------------------------ queries
    def waits_for(self, order_id: str | None) -> bool:
        return order_id in self.waiting

    def order_ids(self) -> list[str]:
        return list(self.waiting)

    def items(self) -> Iterator[tuple[str, Evidence]]:
        for order_id, items in self.waiting.items():
            for _, ev in items:
                yield order_id, ev

    # ------------------------------------------------------------------ evidence
    def key(self, ev: Evidence) -> str:
        if isinstance(ev, TradeEvidence):
            return (
                f"t|{self._account}|{ev.symbol}|{ev.order_id}|{ev.client_id}|{ev.trade_id}|"
                f"{fmt(ev.amount)}|{fmt(ev.price)}"
            )
        return (
            f"s|{self._account}|{ev.symbol}|{ev.order_id}|{ev.client_id}|"
            f"{ev.status.value if ev.status else '-'}|{ev.filled}|{ev.cost}|{_fees_text(ev.fees)}|{ev.event_id}"
        )

    def _seen(self, key: str, archive: Archive) -> bool:
        return key in self._keys or key in self._new_keys or archive.has_key(key)

    def foreign(self, ev: Evidence, archive: Archive) -> Outcome:
        """Someone else's order: slots untouched, evidence parked for its id released (R7)."""
        key = self.key(ev)
        released = self.release_as_foreign(ev.order_id)
        if ev.order_id is not None:
            marker = f"fo|{self._account}|{ev.symbol}|{ev.order_id}"
            if not self._seen(marker, archive):
                self._new_keys[marker] = None
        client_id, order_id = client_order_id(ev.client_id), exchange_order_id(ev.order_id)
        if self._seen(key, archive):
            return Outcome(
                DUPLICATE,
                reason="foreign evidence seen before",
                client_id=client_id,
                order_id=order_id,
                released=released,
            )
        self._new_keys[key] = None
        return Outcome(
            FOREIGN, reason="not one of this grid's orders", client_id=client_id, order_id=order_id, released=released
        )

    def park(self, ev: Evidence, archive: Archive) -> Outcome:
        """Evidence naming only an exchange order id that no record knows (yet)."""
        assert ev.order_id is not None  # the ledger parks only evidence with an exchange order id
        if self._seen(f"fo|{self._account}|{ev.symbol}|{ev.order_id}", archive):
            return self.foreign(ev, archive)
        key = self.key(ev)
        order_id = ExchangeOrderId(ev.order_id)
        if self._seen(key, archive):
            return Outcome(DUPLICATE, reason="parked evidence seen before", order_id=order_id)
        self.waiting.setdefault(ev.order_id, []).append((key, ev))
        self._keys.add(key)
        self._added.append(ParkedItem(ev.order_id, key, ev))
        self._new_keys[key] = None
        return Outcome(
            PARKED, reason=f"exchange order {ev.order_id} is not known yet: query it", order_id=order_id, gap=True
        )

    def release_as_foreign(self, order_id: str | None) -> tuple[Outcome, ...]:
        if order_id is None or order_id not in self.waiting:
            return ()
        outs = []
        for ev in self.pop(order_id):
            outs.append(
                Outcome(
                    FOREIGN,
                    reason="parked evidence belongs to a foreign order",
                    order_id=ExchangeOrderId(order_id),
                    client_id=client_order_id(ev.client_id),
                )
            )
            self._counts[FOREIGN.value] += 1
        return tuple(outs)

    def pop(self, order_id: str) -> list[Evidence]:
        """Take the evidence parked for ``order_id``: it is resolved (applied or foreign)."""
        items = self.waiting.pop(order_id)
        for key, _ in items:
            self._keys.discard(key)
            self._done.append(key)
            self._counts[PARKED.value] -= 1
        return [ev for _, ev in items]

    # ------------------------------------------------------------------ persistence
    def take_changes(self) -> tuple[list[str], list[ParkedItem], list[str]]:
        """New dedupe keys, newly parked evidence and keys of resolved parked evidence."""
        changes = (list(self._new_keys), self._added, self._done)
        self._new_keys, self._added, self._done = {}, [], []
        return changes

    def restore(self, parked: Iterable[tuple[str, str, Evidence]]) -> None:
        for order_id, key, ev in parked:
            self.waiting.setdefault(order_id, []).append((key, ev))
            self._keys.add(key)
