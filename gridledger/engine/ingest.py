"""Evidence in: raw message -> venue parser -> journal and ledger -> outcomes -> follow-ups.

Each message is journaled in its own transaction before anything acts on it. What the
outcomes show then decides what happens next: a gap is a question for the exchange (never
filled by assumption, R6), a changed slot asks the strategy to decide again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from gridledger.domain.coid import decode
from gridledger.domain.numbers import ZERO, InputError, fmt
from gridledger.domain.types import OrderStatus
from gridledger.engine import events
from gridledger.engine.evidence_reader import EvidenceReader, dump
from gridledger.engine.outcome_log import log_outcomes, log_rejected
from gridledger.engine.resolver import OrderEvent
from gridledger.engine.shared import Shared
from gridledger.ledger.evidence import Evidence, OrderEvidence, TradeEvidence
from gridledger.ledger.outcomes import Outcome, OutcomeKind
from gridledger.ledger.records import OrderRecord
from gridledger.logs import log_event, redact

log = logging.getLogger("gridledger.engine")


class Ingest:
    def __init__(self, shared: Shared) -> None:
        self.sh = shared
        self.reader = EvidenceReader(shared.ex.id, shared.grid.instrument)
        self.twin_detected: str | None = None  # why we believe another engine trades this grid
        self._outcomes_published_at = -1e18  # loop clock of the last OUTCOME summary (throttled)

    # The OUTCOME summary at most this often (loop seconds): a burst of duplicates is one event.
    OUTCOME_EVERY_S = 1.0

    def order(self, order: dict[str, Any], source: str) -> list[Outcome]:
        try:
            raw, parsed = self.reader.read_order(order, source)
        except InputError as exc:
            return [self._bad_message(order, str(exc), source)]
        return self.apply(raw, parsed.items, source)

    def trade(self, trade: dict[str, Any], source: str) -> list[Outcome]:
        try:
            raw, parsed = self.reader.read_trade(trade, source)
        except InputError as exc:
            return [self._bad_message(trade, str(exc), source)]
        return self.apply(raw, parsed.items, source)

    def _bad_message(self, structure: Any, reason: str, source: str) -> Outcome:
        self.sh.stats.bad_messages += 1
        log_rejected(reason, source=source)
        raw = dump(structure.get("info", structure) if isinstance(structure, dict) else structure)
        return self.sh.journal.record_rejection(raw, reason, source=source, received_at=self.sh.now_ms())

    def apply(self, raw: str, items: Sequence[Evidence], source: str) -> list[Outcome]:
        sh = self.sh
        for ev in items:
            # The newest fill seen, from any source: where "trades since" starts after a restart.
            # Written with this message's transaction (R8), never moved backwards.
            if isinstance(ev, TradeEvidence):
                sh.journal.cursors.advance_last_trade_ms(ev.timestamp)
        for ev in items:
            self._check_twin(ev, source)
        outcomes = sh.journal.apply_message(raw, items, source=source, received_at=sh.now_ms())
        log_outcomes(outcomes, items)
        if sh.events.watched:
            self._publish(outcomes, items)
        for out in outcomes:
            self._follow_up(out)
            for rel in out.released:
                self._follow_up(rel)
        return outcomes

    def _publish(self, outcomes: Sequence[Outcome], items: Sequence[Evidence]) -> None:
        """FILL once per APPLIED fill delta (a duplicate is never APPLIED, so a trade delivered
        many times is one event); OUTCOME, the counters, at most every OUTCOME_EVERY_S."""
        sh = self.sh
        now = sh.now_ms()
        for out, ev in zip(outcomes, items, strict=False):
            self._publish_fill(out, ev, now)
            for rel in out.released:
                self._publish_fill(rel, None, now)
        clock = sh.clock()
        if clock - self._outcomes_published_at >= self.OUTCOME_EVERY_S:
            self._outcomes_published_at = clock
            sh.events.publish(events.OUTCOME, now, **{k.lower(): v for k, v in sh.ledger.counts.items()})

    def _publish_fill(self, out: Outcome, ev: Evidence | None, now: int) -> None:
        if out.kind is not OutcomeKind.APPLIED or (not out.filled_delta and not out.slot_qty_delta):
            return
        cid = decode(out.client_id) if out.client_id else None
        price = fee = fee_asset = None
        if isinstance(ev, TradeEvidence):
            price = ev.price
            if ev.fees:
                fee_asset, fee = ev.fees[0]
        elif isinstance(ev, OrderEvidence):
            # An order update carries cumulative figures: its average price, not this delta's.
            price = ev.cost / ev.filled if ev.cost and ev.filled else ev.price
        qty = out.filled_delta or abs(out.slot_qty_delta)
        self.sh.events.publish(
            events.FILL,
            ev.timestamp if ev is not None and ev.timestamp else now,
            level=out.level,
            side=cid.side.value if cid else None,
            role=cid.role.value if cid else None,
            price=fmt(price),
            qty=fmt(qty),
            # The order's fill before and after: filled_delta 0 is a fee or slot correction,
            # not a trade (notifiers key and skip on these).
            filled=fmt(out.filled_after),
            filled_delta=fmt(out.filled_delta),
            fee=fmt(fee),
            fee_asset=fee_asset,
            realized_delta=fmt(out.realized_delta),
            client_id=out.client_id,
            order_id=out.order_id,
            trade_id=out.trade_id,
            status=out.status_after.value if out.status_after else None,
        )

    def _check_twin(self, ev: Evidence, source: str) -> None:
        """Another engine trading this grid on this account, with its own journal.

        It sends orders under our client-id scheme (R7), so its orders decode as ours. R7
        applies evidence for one of our ids with no record (an instant fill before the place
        call returned, a lost or older database), and that must keep working: the startup
        reconciliation recovers what a lost journal forgot, so nothing is judged before it
        has run. After it, this journal is intact and every generation we send is persisted
        before it is sent (R7), so evidence for our grid id with no record at a generation
        at or past the slot's next one, or naming another exchange order under one of our
        client ids, is an order this engine never sent. The evidence is still applied (the
        account's position is the truth, and the ledger keeps matching it); opening orders
        stop until a restart, because two engines would each buy every level. Closing sells
        go on: they only sell inventory this ledger holds, and a second sell of the same
        inventory is refused by the venue for lack of balance, not executed.
        """
        client_id = ev.client_id
        if not self.sh.ready or not client_id:
            return
        cid = decode(client_id)
        if cid is None or cid.grid_id != self.sh.grid.grid_id:
            return
        ledger = self.sh.ledger
        rec = ledger.order(client_id)
        if rec is None:
            slot = ledger.slots.get(cid.level)
            next_gen = slot.next_gen if slot is not None else 0
            if cid.generation < next_gen:
                return  # a generation this journal allocated: R7 recovery, not a twin
            why = f"generation {cid.generation} at level {cid.level} was never sent (next is {next_gen})"
        elif ev.order_id is not None and rec.order_id is not None and ev.order_id != rec.order_id:
            why = f"exchange order {ev.order_id} carries our client id of exchange order {rec.order_id}"
        else:
            return
        self.sh.stats.twin_evidence += 1
        first = self.twin_detected is None
        self.twin_detected = why
        log_event(
            log,
            logging.ERROR,
            "another engine is trading this grid: opening orders paused",
            client_id=client_id,
            reason=why,
            source=source,
            first=first,
            action="stop the other engine (same grid id on the same account), then restart this one",
        )

    def _follow_up(self, out: Outcome) -> None:
        """Evidence that shows a gap asks the exchange: never fill a gap by assumption (R6).

        Evidence that changed a slot (a fill, an order finished) asks for a new decision,
        so a filled buy gets its closing sell without waiting for the next price. Any other
        applied evidence (a fee now known, R1) may release an action the last decision held
        back: Shared.unblocked decides again then (engine/decisions.py)."""
        sh = self.sh
        if out.kind is OutcomeKind.APPLIED:
            if out.status_after != out.status_before or out.filled_delta or out.slot_qty_delta:
                sh.decide.set()
            sh.unblocked()
        if out.client_id and out.kind is OutcomeKind.APPLIED and out.client_id in sh.resolver.orders:
            sh.resolver.fire(out.client_id, OrderEvent.EVIDENCE, sh.clock())
        if out.gap:
            if out.client_id:
                sh.resolver.fire(out.client_id, OrderEvent.GAP, sh.clock())
            elif out.order_id:
                sh.resolver.parked.add(out.order_id)
            sh.ask()

    def reject_order(self, rec: OrderRecord, error: BaseException) -> None:
        """The exchange refused the order: that answer is evidence it never existed (R6)."""
        ev = OrderEvidence(
            symbol=self.sh.symbol,
            order_id=None,
            client_id=rec.client_id,
            status=OrderStatus.REJECTED,
            side=rec.side,
            amount=rec.amount,
            price=rec.price,
            filled=ZERO,
            cost=ZERO,
            fees=(),
            timestamp=self.sh.now_ms(),
            event_id=f"rejected:{rec.client_id}",
            source="rest:error",
        )
        raw = dump({"error": type(error).__name__, "message": redact(str(error))[:500], "clientOrderId": rec.client_id})
        self.apply(raw, [ev], "rest:error")
