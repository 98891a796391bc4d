"""Fault injection: what a subscriber of the private stream receives instead of the truth.

The venue produces a truthful, ordered message sequence (:attr:`SimCore.events`).
:class:`FaultyStream` turns it into the sequence one connection delivers, with the faults
real venues show (corpus README §3-4): duplicates, local reordering, disconnects that lose
what was sent meanwhile, and replays of recent messages after a reconnect. It is synchronous
and deterministic (its own ``random.Random(seed)``); the async adapter drives it in virtual
time and adds the REST faults (latency, timeouts that still placed the order, errors).

Delivered messages accumulate in :attr:`FaultyStream.log`; subscribers keep a cursor into it.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Generic, TypeVar

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class StreamFaults:
    """Private-stream fault settings; all off by default.

    - ``duplicate_p``: probability that a message is delivered twice (back to back, before
      reordering, so the copies may end up apart).
    - ``reorder_window``: messages are delivered in windows of this many, shuffled within the
      window (0 or 1: in order). A window that does not fill is flushed by the adapter after
      ``reorder_hold_ms`` of virtual time, or by :meth:`FaultyStream.flush`.
    - ``disconnect_every``: the connection drops after every this many delivered messages
      (0: never). A pending watch raises ``ccxt.NetworkError``; the next watch reconnects.
    - ``replay_last``: on reconnect, the last this many messages delivered before the drop are
      delivered again (what a venue's overlap / resubscribe replay looks like).
    - ``drop_while_disconnected``: messages arriving while disconnected are lost (True) or
      held and delivered on reconnect (False).
    """

    duplicate_p: float = 0.0
    reorder_window: int = 0
    disconnect_every: int = 0
    replay_last: int = 0
    drop_while_disconnected: bool = True
    seed: int = 0
    reorder_hold_ms: int = 1000

    def __post_init__(self) -> None:
        if not 0 <= self.duplicate_p <= 1:
            raise ValueError(f"duplicate_p must be in [0, 1], got {self.duplicate_p}")
        for name in ("reorder_window", "disconnect_every", "replay_last", "reorder_hold_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


@dataclass(slots=True)
class FaultCounters:
    """How many of each fault were injected, for run reports."""

    duplicated: int = 0
    reordered: int = 0
    dropped: int = 0
    disconnects: int = 0
    replayed: int = 0
    create_timeouts: int = 0
    rest_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class FaultyStream(Generic[M]):
    """One private-stream connection between the venue and a subscriber.

    ``push`` feeds the truthful sequence in (at the time a message reaches the subscriber's
    side of the wire); delivered messages are appended to ``log``. ``epoch`` counts
    disconnects so a waiting subscriber can tell that its connection dropped.

    A stream created with ``connected=False`` models a subscription not yet opened: messages
    pushed before the first :meth:`connect` are discarded (counted in ``unsubscribed``, not
    as faults), exactly like events a ccxt client never subscribed to.
    """

    def __init__(
        self,
        faults: StreamFaults,
        counters: FaultCounters | None = None,
        *,
        connected: bool = True,
        listener: Callable[[], None] | None = None,
    ) -> None:
        self.faults = faults
        self.counters = counters if counters is not None else FaultCounters()
        self.log: list[M] = []
        self.connected = connected
        self.epoch = 0
        self.unsubscribed = 0
        self.listener = listener
        self._ever_connected = connected
        self._rng = random.Random(faults.seed)
        self._window: list[M] = []
        self._history: deque[M] = deque(maxlen=faults.replay_last)
        self._backlog: list[M] = []
        self._delivered = 0

    @property
    def buffered(self) -> int:
        """Messages held in a reorder window that has not filled yet."""
        return len(self._window)

    def push(self, message: M) -> None:
        """A message from the venue reaches this connection."""
        if not self.connected:
            self._arrive_disconnected(message)
            self._notify()
            return
        copies = [message]
        if self.faults.duplicate_p and self._rng.random() < self.faults.duplicate_p:
            copies.append(message)
            self.counters.duplicated += 1
        for copy in copies:
            if self.faults.reorder_window > 1:
                self._window.append(copy)
                if len(self._window) >= self.faults.reorder_window:
                    self._release_window()
            else:
                self._deliver(copy)
        self._notify()

    def flush(self) -> None:
        """Deliver a partly filled reorder window (shuffled as well)."""
        if self._window:
            self._release_window()
            self._notify()

    def connect(self) -> None:
        """(Re)connect: the first call opens the subscription, later ones replay and resume."""
        if self.connected:
            return
        self.connected = True
        if not self._ever_connected:
            self._ever_connected = True
            self._notify()
            return
        for message in list(self._history):
            self.log.append(message)
            self.counters.replayed += 1
        backlog, self._backlog = self._backlog, []
        for message in backlog:
            self.push(message)
        self._notify()

    def disconnect(self) -> None:
        """Drop the connection now (also used by tests and by ``close``)."""
        if not self.connected:
            return
        self.connected = False
        self.epoch += 1
        self.counters.disconnects += 1
        # Whatever sat in the reorder window had not reached the subscriber yet.
        pending, self._window = self._window, []
        for message in pending:
            self._arrive_disconnected(message)
        self._notify()

    def _arrive_disconnected(self, message: M) -> None:
        if not self._ever_connected:
            self.unsubscribed += 1
        elif self.faults.drop_while_disconnected:
            self.counters.dropped += 1
        else:
            self._backlog.append(message)

    def _release_window(self) -> None:
        window, self._window = self._window, []
        order = list(range(len(window)))
        self._rng.shuffle(order)
        self.counters.reordered += sum(1 for i, j in enumerate(order) if i != j)
        for index in order:
            if self.connected:
                self._deliver(window[index])
            else:
                self._arrive_disconnected(window[index])

    def _deliver(self, message: M) -> None:
        self.log.append(message)
        self._history.append(message)
        self._delivered += 1
        every = self.faults.disconnect_every
        if every and self._delivered % every == 0:
            self.disconnect()

    def _notify(self) -> None:
        if self.listener is not None:
            self.listener()
