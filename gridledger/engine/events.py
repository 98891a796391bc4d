"""The engine's event feed: what happened, for whoever watches (the HTTP API, notifiers).

The engine publishes; watchers subscribe. Publishing never blocks and never raises, so a slow
or broken watcher cannot stall the engine (single-threaded asyncio: a blocked publish would
stop ingest, and with it the ledger). Each subscription has its own bounded queue; when a
watcher falls behind, its oldest events are dropped and counted, never the engine's work.

Events carry plain JSON-ready values: decimals as normalised strings, ids as strings.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

log = logging.getLogger("gridledger.events")

# The kinds the engine publishes; watchers may ignore any of them.
FILL = "fill"  # an APPLIED fill delta: once per piece of evidence that moved a slot (R10)
OUTCOME = "outcome"  # outcome counters changed (a batch summary, not one event per duplicate)
PAUSE = "pause"  # opening orders paused, with the reason
RESUME = "resume"  # opening orders resumed
DRIFT = "drift"  # the ledger and the venue disagree (or agree again)
RECONNECT = "reconnect"  # a stream dropped and was re-established
RECONCILE = "reconcile"  # a REST reconciliation ran, with its reason
STOP = "stop"  # the engine is stopping
STATUS = "status"  # a periodic status snapshot
KINDS = frozenset({FILL, OUTCOME, PAUSE, RESUME, DRIFT, RECONNECT, RECONCILE, STOP, STATUS})

Value = str | int | bool | None


@dataclass(frozen=True, slots=True)
class EngineEvent:
    kind: str
    ts_ms: int
    data: Mapping[str, Value] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "ts_ms": self.ts_ms, **self.data}


class Subscription:
    """One watcher's bounded queue of events; iterate it with ``async for``."""

    __slots__ = ("_items", "_maxsize", "_ready", "closed", "dropped")

    def __init__(self, maxsize: int) -> None:
        self._items: deque[EngineEvent] = deque()
        self._maxsize = maxsize
        self._ready = asyncio.Event()
        self.dropped = 0
        self.closed = False

    def put(self, event: EngineEvent) -> None:
        if self.closed:
            return
        if len(self._items) >= self._maxsize:
            self._items.popleft()  # the watcher is behind: lose its oldest, never block the engine
            self.dropped += 1
        self._items.append(event)
        self._ready.set()

    def get_nowait(self) -> EngineEvent | None:
        if not self._items:
            return None
        return self._items.popleft()

    async def get(self) -> EngineEvent | None:
        """The next event, or None once the subscription is closed and drained."""
        while not self._items:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[EngineEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[EngineEvent]:
        while True:
            event = await self.get()
            if event is None:
                return
            yield event


class EventBus:
    """Fan-out of engine events to subscriptions. Publishing is synchronous and O(watchers)."""

    __slots__ = ("_subs", "published")

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self.published = 0

    @property
    def watched(self) -> bool:
        """Anyone listening: publishers skip building an event's fields when nobody is."""
        return bool(self._subs)

    def subscribe(self, maxsize: int = 1000) -> Subscription:
        sub = Subscription(maxsize)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.close()
        if sub in self._subs:
            self._subs.remove(sub)

    def publish(self, kind: str, ts_ms: int, **data: Value) -> None:
        """Hand an event to every watcher. Never blocks and never raises."""
        if not self._subs:
            return  # nobody watches: publishing costs a truth test
        try:
            event = EngineEvent(kind, ts_ms, data)
            self.published += 1
            for sub in self._subs:
                sub.put(event)
        except Exception:  # a watcher's bug must not reach the engine
            log.exception("event feed: publishing %s failed", kind)

    def close(self) -> None:
        for sub in self._subs:
            sub.close()
        self._subs.clear()
