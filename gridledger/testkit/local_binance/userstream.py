"""The account's user data stream: SimCore events -> latency -> faults -> subscribers.

One :class:`FaultyStream` models the account's stream as the venue delivers it (duplicates,
reordering, disconnects that lose what was sent meanwhile, a replay of the last messages on
the next subscription). Events enter it ``stream_latency_ms`` after they happened, FIFO,
through a single timer, so REST answers race the stream exactly as configured.

Subscribers are WebSocket API sessions that sent ``userDataStream.subscribe.signature``;
each gets every delivered event wrapped as ``{"subscriptionId": N, "event": {...}}`` (the
framing ccxt 4.5.90 reads on the WebSocket API). When the stream disconnects (the
``disconnect_every`` fault) every subscribed connection is closed from the server side
after the frames delivered before the drop; the next subscription reconnects the stream and
receives the replay. Events produced before the first subscription are never sent, as on
Binance.

Injected frames (malformed JSON, unknown fields, another symbol) bypass the faults and the
latency: they go straight to the current subscribers, after whatever was queued for them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gridledger.exchange.sim.faults import FaultCounters, FaultyStream, StreamFaults
from gridledger.testkit.local_binance.peer import dumps

Payload = dict[str, Any]


class Sink(Protocol):
    """Where a subscriber's frames go (a :class:`WsPeer`)."""

    def send_text(self, text: str) -> None: ...

    def close_soon(self, abort: bool = False) -> None: ...


@dataclass(slots=True)
class _Subscriber:
    sink: Sink
    subscription_id: int
    cursor: int  # next index of the stream log to send
    epoch: int  # the stream's disconnect count when this subscription started


def envelope(subscription_id: int, event: Payload) -> str:
    return dumps({"subscriptionId": subscription_id, "event": event})


class UserStream:
    """Fan-out of the (faulty, delayed) user data stream to WebSocket API subscribers."""

    def __init__(
        self,
        faults: StreamFaults,
        counters: FaultCounters,
        latency_ms: int,
        on_subscribers: Callable[[], None] | None = None,
        abort_on_disconnect: bool = True,
    ) -> None:
        self.stream: FaultyStream[Payload] = FaultyStream(faults, counters, connected=False, listener=self._deliver)
        self._latency_s = latency_ms / 1000
        self._hold_s = faults.reorder_hold_ms / 1000
        self._subs: list[_Subscriber] = []
        self._inflight: deque[tuple[float, Payload]] = deque()
        self._drain_handle: asyncio.TimerHandle | None = None
        self._flush_handle: asyncio.TimerHandle | None = None
        self._on_subscribers = on_subscribers
        self._abort = abort_on_disconnect

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    @property
    def in_flight(self) -> int:
        """Events not yet on the stream: delayed by latency or held in a reorder window."""
        return len(self._inflight) + self.stream.buffered

    # --- input -------------------------------------------------------------------------------

    def publish(self, events: Sequence[Payload]) -> None:
        """New venue events; they reach the stream after the latency."""
        if not events:
            return
        if self._latency_s <= 0 and not self._inflight:
            for event in events:
                self.stream.push(event)
            self._schedule_flush()
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + self._latency_s
        self._inflight.extend((due, e) for e in events)
        if self._drain_handle is None:
            self._drain_handle = loop.call_at(self._inflight[0][0], self._drain)

    def inject(self, frame_for: Callable[[int], str]) -> int:
        """Send ``frame_for(subscription_id)`` to every subscriber now; returns how many."""
        for sub in self._subs:
            sub.sink.send_text(frame_for(sub.subscription_id))
        return len(self._subs)

    def flush(self) -> None:
        """Deliver a partly filled reorder window now instead of after ``reorder_hold_ms``."""
        self.stream.flush()

    # --- subscriptions -------------------------------------------------------------------------

    def subscribe(self, sink: Sink, subscription_id: int) -> None:
        """A subscription starts: (re)connect the stream; a reconnect replays to this sink."""
        self._subs.append(_Subscriber(sink, subscription_id, len(self.stream.log), self.stream.epoch))
        self.stream.connect()
        self._deliver()
        self._changed()

    def subscription_of(self, sink: Sink) -> int | None:
        """The sink's live subscription id (None after a drop, a termination, or never)."""
        for sub in self._subs:
            if sub.sink is sink:
                return sub.subscription_id
        return None

    def unsubscribe(self, sink: Sink) -> None:
        """The client left (or unsubscribed); not a fault, so the stream stays up."""
        before = len(self._subs)
        self._subs = [s for s in self._subs if s.sink is not sink]
        if len(self._subs) != before:
            self._changed()

    def terminate(self, event: Payload) -> int:
        """Send ``event`` (an ``eventStreamTerminated``) and end every subscription."""
        count = self.inject(lambda sid: envelope(sid, event))
        self._subs = []
        self._changed()
        return count

    def close(self) -> None:
        for handle in (self._drain_handle, self._flush_handle):
            if handle is not None:
                handle.cancel()
        self._drain_handle = self._flush_handle = None

    # --- plumbing ------------------------------------------------------------------------------

    def _drain(self) -> None:
        # One timer for the whole wire keeps delivery FIFO (equal-time timers are not).
        loop = asyncio.get_running_loop()
        self._drain_handle = None
        now = loop.time()
        while self._inflight and self._inflight[0][0] <= now + 1e-6:
            self.stream.push(self._inflight.popleft()[1])
        if self._inflight:
            self._drain_handle = loop.call_at(self._inflight[0][0], self._drain)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self.stream.buffered and self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(self._hold_s, self._flush_timer)

    def _flush_timer(self) -> None:
        self._flush_handle = None
        self.stream.flush()

    def _deliver(self) -> None:
        """FaultyStream listener: send what was delivered; close subscribers on a drop."""
        log = self.stream.log
        dropped = False
        for sub in self._subs:
            for event in log[sub.cursor :]:
                sub.sink.send_text(envelope(sub.subscription_id, event))
            sub.cursor = len(log)
            if sub.epoch != self.stream.epoch:
                sub.sink.close_soon(abort=self._abort)
                dropped = True
        if dropped:
            self._subs = [s for s in self._subs if s.epoch == self.stream.epoch]
            self._changed()

    def _changed(self) -> None:
        if self._on_subscribers is not None:
            self._on_subscribers()
