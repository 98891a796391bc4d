"""When the next REST reconciliation runs, and why: a pure schedule on a clock the caller passes.

A reconciliation costs several of the venue's heaviest requests (Binance spot: account 20,
openOrders 6, myTrades 20 weight), so it is never run back to back:

- ``periodic`` every ``every_s``;
- a requested one (``reconnect``, ``idle``, ``query``) no sooner than ``backoff_s`` after the
  previous reconciliation ended;
- while the ledger and the exchange disagree (``drift``), re-checks back off exponentially
  from ``backoff_s`` to ``backoff_max_s``: drift that persists is a condition for a person
  to look at, not something polling faster will fix. The first re-check comes after
  ``backoff_s``, so fills in flight (one reading off, the next one fine) still clear quickly;
- a reconciliation that got no answer (``retry``) backs off the same way while it keeps failing.
"""

from __future__ import annotations

from dataclasses import dataclass

# Times are floats: "due" allows a millisecond, or a wait shorter than the clock's
# resolution would never move the clock and a loop would spin.
EPSILON_S = 1e-3

# Why a reconciliation runs, as logged: startup (engine start), periodic, reconnect (a stream
# dropped), idle (no order message for stream_idle_s), query (an order refused for balance),
# drift (re-check while the ledger and the exchange disagree), retry (the last one got no answer).


@dataclass(slots=True)
class ReconcileSchedule:
    every_s: float
    backoff_s: float
    backoff_max_s: float
    now: float = 0.0  # the clock at creation: the first periodic run is one period later
    requested: str | None = None  # reconnect / idle / query / retry, waiting for its slot
    drift_at: float | None = None  # when drift is checked again, while it persists
    last_end: float = float("-inf")  # when the previous reconciliation ended
    next_periodic: float = 0.0
    drift_streak: int = 0  # consecutive reconciliations that ended with drift
    fail_streak: int = 0  # consecutive reconciliations that got no answer
    retry_at: float = float("-inf")  # a failed one is retried no sooner than this

    def __post_init__(self) -> None:
        self.next_periodic = self.now + self.every_s

    def request(self, reason: str) -> None:
        """Ask for a reconciliation; the first reason asked for is the one reported."""
        if self.requested is None:
            self.requested = reason

    def due(self, now: float) -> str | None:
        """The reason of the reconciliation to run now, or None."""
        if self.requested is not None and now >= self._requested_at() - EPSILON_S:
            return self.requested
        if self.drift_at is not None and now >= self.drift_at - EPSILON_S:
            return "drift"
        if now >= self.next_periodic - EPSILON_S:
            return "periodic"
        return None

    def wait_s(self, now: float) -> float:
        """How long until ``due`` can next return a reason (0 if it does now)."""
        at = self.next_periodic
        if self.requested is not None:
            at = min(at, self._requested_at())
        if self.drift_at is not None:
            at = min(at, self.drift_at)
        return max(0.0, at - now)

    def started(self) -> None:
        """One reconciliation serves every reason pending when it starts."""
        self.requested = None
        self.drift_at = None

    def _requested_at(self) -> float:
        return max(self.last_end + self.backoff_s, self.retry_at)

    def failed(self, now: float) -> None:
        """The reconciliation got no answer: retry after the gap, doubling while it fails."""
        self.last_end = now
        self.fail_streak += 1
        self.retry_at = now + min(self.backoff_max_s, self.backoff_s * 2 ** min(self.fail_streak - 1, 30))
        self.next_periodic = now + self.every_s  # the retry comes first
        self.request("retry")

    def finished(self, now: float, *, drift: bool) -> None:
        self.last_end = now
        self.fail_streak = 0
        self.retry_at = float("-inf")
        if drift:
            self.drift_streak += 1
            delay = self.delay()
            self.drift_at = now + delay
            # The drift re-check stands in for the periodic run: it backs off as well.
            self.next_periodic = now + max(self.every_s, delay)
        else:
            self.drift_streak = 0
            self.drift_at = None
            self.next_periodic = now + self.every_s

    def delay(self) -> float:
        """The wait before re-checking drift: ``backoff_s``, doubling with each drifting
        reading after the first, at most ``backoff_max_s``."""
        exponent = min(max(self.drift_streak - 1, 0), 30)
        return min(self.backoff_max_s, self.backoff_s * 2**exponent)
