"""What the engine knows about each of its orders while it resolves them: a pure state table.

No I/O and no clock of its own: every method that needs the time takes ``now`` (the event
loop's clock in the engine, any number in a test). The ledger holds what the exchange said
(R1-R10); this table holds only what the engine is waiting for, so nothing in it is ever
evidence: a "not found" twice closes an order only because the engine then journals a
REJECTED answer for it (R6), never by itself.

An order absent from the table is ACKED (nothing pending). A pair (state, event) that is not
in ``TRANSITIONS`` is logged as an error and leaves the state as it was: a wrong guess about
an order must never stop the engine, and never move the order somewhere the table does not
allow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from gridledger.logs import log_event

log = logging.getLogger("gridledger.engine")


class OrderState(str, Enum):
    SENT = "sent"  # create in flight, no answer yet
    ACKED = "acked"  # nothing pending: the exchange answered (or the order predates this run)
    UNANSWERED = "unanswered"  # the create got no answer: query by client id after a grace period
    QUERYING = "querying"  # a query is due (gap in the evidence, failed cancel, crossed too long)
    NOT_FOUND_ONCE = "not_found_once"  # never acknowledged and the exchange said "not found": ask again
    UNRESOLVED = "unresolved"  # a query got no answer; the next reconciliation asks again
    CANCEL_SENT = "cancel_sent"  # a cancel went out (debounced)
    CROSSED = "crossed"  # the price traded through it and no fill was seen yet
    SETTLED = "settled"  # nothing more to learn: forgotten


class OrderEvent(str, Enum):
    SEND = "send"  # the order's generation is journaled and the create goes out (R7)
    CREATED = "created"  # the create call answered
    REFUSED = "refused"  # the create was refused: journaled as REJECTED (R6)
    NO_CREATE_ANSWER = "no_create_answer"  # timeout, network error, duplicate id
    EVIDENCE = "evidence"  # evidence for it was applied
    GAP = "gap"  # evidence shows a gap: ask the exchange
    CANCEL = "cancel"  # a cancel goes out
    CANCEL_ANSWERED = "cancel_answered"
    CANCEL_FAILED = "cancel_failed"  # not found or no answer: it may have filled (R6)
    CROSS = "cross"  # the price is through it
    UNCROSS = "uncross"  # the price came back
    CROSS_GRACE_OVER = "cross_grace_over"  # through for cross_grace_s without a fill: ask
    ANSWERED = "answered"  # a query answered
    NOT_FOUND = "not_found"  # a query of a never-acknowledged order: "not found"
    NO_ANSWER = "no_answer"  # a query got no answer after retries
    FORGET = "forget"  # nothing to ask (closed with all fees known, or no record)


S, E = OrderState, OrderEvent
_QUEUED = (S.UNANSWERED, S.QUERYING, S.NOT_FOUND_ONCE)  # a query is pending
_ALL = tuple(s for s in S if s is not S.SETTLED)


def _table() -> dict[tuple[OrderState, OrderEvent], OrderState]:
    t: dict[tuple[OrderState, OrderEvent], OrderState] = {
        (S.ACKED, E.SEND): S.SENT,
        (S.SENT, E.CREATED): S.ACKED,
        (S.SENT, E.REFUSED): S.SETTLED,
        (S.SENT, E.NO_CREATE_ANSWER): S.UNANSWERED,
        (S.QUERYING, E.CREATED): S.QUERYING,  # a gap was seen while the create was in flight
        (S.QUERYING, E.REFUSED): S.SETTLED,
        (S.QUERYING, E.NO_CREATE_ANSWER): S.UNANSWERED,
        # Evidence: an unanswered create now has an answer of sorts; ask once, without the grace.
        (S.UNANSWERED, E.EVIDENCE): S.QUERYING,
        (S.NOT_FOUND_ONCE, E.EVIDENCE): S.QUERYING,  # the exchange knows it after all
        # Cancel answered: the answer was ingested; what is pending stays pending.
        (S.CANCEL_SENT, E.CANCEL_ANSWERED): S.ACKED,
        # Crossing is watched on acknowledged, quiet orders only.
        (S.ACKED, E.CROSS): S.CROSSED,
        (S.UNRESOLVED, E.CROSS): S.CROSSED,
        (S.CANCEL_SENT, E.CROSS): S.CROSSED,
        (S.CROSSED, E.CROSS): S.CROSSED,
        (S.CROSSED, E.UNCROSS): S.ACKED,
        (S.CROSSED, E.CROSS_GRACE_OVER): S.QUERYING,
        (S.NOT_FOUND_ONCE, E.NOT_FOUND): S.NOT_FOUND_ONCE,  # too soon to close: ask again
    }
    for s in _ALL:
        t.setdefault((s, E.EVIDENCE), s)
        # A gap makes a query due; one already due (with its own timing) stays as it is.
        t[(s, E.GAP)] = s if s in _QUEUED else S.QUERYING
        t.setdefault((s, E.CANCEL), s if s in _QUEUED or s is S.SENT else S.CANCEL_SENT)
        t.setdefault((s, E.CANCEL_ANSWERED), s)
        t[(s, E.CANCEL_FAILED)] = s if s in (S.UNANSWERED, S.NOT_FOUND_ONCE) else S.QUERYING
        # Any order may be queried (a reconciliation asks about every live order it misses).
        t[(s, E.ANSWERED)] = S.ACKED
        t.setdefault((s, E.NOT_FOUND), S.NOT_FOUND_ONCE)
        t[(s, E.NO_ANSWER)] = S.UNRESOLVED
        t[(s, E.FORGET)] = S.SETTLED
        if s is not S.CROSSED:
            t.setdefault((s, E.UNCROSS), s)
    t[(S.SENT, E.CANCEL_FAILED)] = S.QUERYING
    return t


TRANSITIONS: dict[tuple[OrderState, OrderEvent], OrderState] = _table()


@dataclass(slots=True)
class ResolverTimings:
    """Every timing of the resolver; ``[engine]`` fields with these defaults (config.py)."""

    unanswered_grace_s: float = 1.0  # an unanswered create may still land: wait before asking
    not_found_gap_s: float = 3.0  # REST lags matching: two "not found" this far apart close an order
    cancel_debounce_s: float = 5.0  # one cancel per order per this long (unless forced)
    cross_grace_s: float = 5.0  # traded through this long with no fill seen: ask
    level_backoff_s: float = 5.0  # a refused level waits this long, doubling per refusal...
    level_backoff_max_s: float = 600.0  # ...up to this


@dataclass(slots=True)
class Entry:
    state: OrderState = S.ACKED
    unanswered_at: float | None = None  # when the create went unanswered
    not_found_at: float | None = None  # the first "not found" answer
    cancel_at: float | None = None  # the last cancel sent
    crossed_at: float | None = None  # when the price first went through it


class OrderResolver:
    """The per-order table, the parked-evidence queries and the per-level refusal back-off."""

    def __init__(self, timings: ResolverTimings | None = None) -> None:
        self.timings = timings or ResolverTimings()
        self.orders: dict[str, Entry] = {}
        self.parked: set[str] = set()  # exchange order ids of parked evidence: ask by order id
        self.levels: dict[int, tuple[float, float]] = {}  # level -> (retry after, last delay)
        self.errors = 0  # transitions refused (not in the table)

    # ------------------------------------------------------------------ the table
    def state(self, client_id: str) -> OrderState:
        entry = self.orders.get(client_id)
        return entry.state if entry is not None else S.ACKED

    def fire(self, client_id: str, event: OrderEvent, now: float = 0.0) -> OrderState | None:
        """Apply one event; the new state, or None (logged) if the table has no such move."""
        entry = self.orders.get(client_id) or Entry()
        new = TRANSITIONS.get((entry.state, event))
        if new is None:
            self.errors += 1
            log_event(
                log,
                logging.ERROR,
                "order resolver: transition not in the table",
                client_id=client_id,
                state=entry.state.value,
                event=event.value,
            )
            return None
        if new is S.SETTLED:
            self.orders.pop(client_id, None)
            return new
        if event is E.NO_CREATE_ANSWER:
            entry.unanswered_at = now
        elif event is E.CANCEL:
            entry.cancel_at = now
        elif event is E.CROSS and entry.crossed_at is None:
            entry.crossed_at = now
        # Each timer belongs to one state: leaving the state ends it.
        if new is not S.UNANSWERED:
            entry.unanswered_at = None
        if new is not S.NOT_FOUND_ONCE:
            entry.not_found_at = None
        if new is not S.CROSSED:
            entry.crossed_at = None
        entry.state = new
        if new is S.ACKED and entry.cancel_at is None:
            self.orders.pop(client_id, None)  # absent means ACKED: keep the table small
        else:
            self.orders[client_id] = entry
        return new

    # ------------------------------------------------------------------ timings
    def not_found(self, client_id: str, now: float) -> bool:
        """A never-acknowledged order is "not found": True when that closes it (the second
        such answer, at least ``not_found_gap_s`` after the first); the order is then SETTLED."""
        entry = self.orders.get(client_id)
        first = entry.not_found_at if entry is not None and entry.state is S.NOT_FOUND_ONCE else None
        if first is not None and now - first >= self.timings.not_found_gap_s:
            self.fire(client_id, E.FORGET, now)
            return True
        if self.fire(client_id, E.NOT_FOUND, now) is not None and first is None:
            self.orders[client_id].not_found_at = now
        return False

    def may_cancel(self, client_id: str, now: float, force: bool = False) -> bool:
        """Debounce: one cancel per order per ``cancel_debounce_s`` unless forced."""
        entry = self.orders.get(client_id)
        last = entry.cancel_at if entry is not None else None
        return force or last is None or now - last >= self.timings.cancel_debounce_s

    def due(self, now: float) -> list[str]:
        """Client ids to query now, sorted; an unanswered create waits out its grace."""
        grace = self.timings.unanswered_grace_s
        return sorted(
            cid
            for cid, e in self.orders.items()
            if e.state in _QUEUED
            and not (e.state is S.UNANSWERED and e.unanswered_at is not None and now - e.unanswered_at < grace)
        )

    def queued(self) -> list[str]:
        """Client ids with a query pending (due now or after a grace)."""
        return sorted(cid for cid, e in self.orders.items() if e.state in _QUEUED)

    def busy(self) -> bool:
        """Something to watch on a short clock (a pending query, a crossing, a parked id)."""
        return bool(self.parked) or any(e.state in (*_QUEUED, S.CROSSED) for e in self.orders.values())

    def crossing(self, client_id: str, now: float) -> str:
        """The price is through this acknowledged order. Returns "new" when the watch starts,
        "due" when it has been through for ``cross_grace_s`` with no fill seen (a query is now
        due), "" otherwise. Orders in flight or with a query pending are left as they are."""
        if self.state(client_id) in (*_QUEUED, S.SENT):
            return ""
        fresh = self.state(client_id) is not S.CROSSED
        self.fire(client_id, E.CROSS, now)
        entry = self.orders[client_id]
        if entry.crossed_at is not None and now - entry.crossed_at >= self.timings.cross_grace_s:
            self.fire(client_id, E.CROSS_GRACE_OVER, now)
            return "due"
        return "new" if fresh else ""

    def uncross_all_but(self, through: set[str], now: float) -> None:
        for cid in [c for c, e in self.orders.items() if e.state is S.CROSSED and c not in through]:
            self.fire(cid, E.UNCROSS, now)

    def take_parked(self) -> list[str]:
        parked, self.parked = self.parked, set()
        return sorted(parked)

    # ------------------------------------------------------------------ levels
    def level_waiting(self, level: int, now: float) -> bool:
        waiting = self.levels.get(level)
        return waiting is not None and now < waiting[0]

    def level_refused(self, level: int, now: float) -> float:
        """The venue refused an order at this level: it waits, twice as long as last time,
        between ``level_backoff_s`` and ``level_backoff_max_s``. Returns the wait."""
        _, previous = self.levels.get(level, (0.0, 0.0))
        delay = min(self.timings.level_backoff_max_s, max(self.timings.level_backoff_s, previous * 2))
        self.levels[level] = (now + delay, delay)
        return delay

    def next_retry(self, now: float) -> float | None:
        """The earliest end of a level's back-off still ahead of ``now``, or None."""
        ahead = [until for until, _ in self.levels.values() if until > now]
        return min(ahead) if ahead else None

    def level_accepted(self, level: int) -> None:
        self.levels.pop(level, None)

    def prune(self, live: set[str]) -> None:
        """Forget quiet entries of orders no longer live (their cancel debounce is moot)."""
        for cid in [c for c, e in self.orders.items() if c not in live and e.state not in _QUEUED]:
            self.orders.pop(cid, None)
