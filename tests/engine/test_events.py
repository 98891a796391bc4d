"""The engine's event bus (engine/events.py) and what the engine publishes on it.

The bus: publishing never blocks or raises, a slow watcher loses its oldest events (counted),
closing ends every watcher's iteration, and with no watcher publishing builds nothing. The
engine: a trade delivered many times is one FILL (only APPLIED evidence publishes), the
outcome counters come as a throttled summary, and the pause switch publishes PAUSE/RESUME.
"""

from __future__ import annotations

import asyncio
from collections import deque
from decimal import Decimal as D

from engine_helpers import START, path, venue
from engine_helpers import engine as make_engine
from ledger_helpers import trade

from gridledger.domain.coid import ClientId, encode
from gridledger.domain.types import Role, Side
from gridledger.engine import events
from gridledger.engine.events import EventBus
from gridledger.exchange.sim.clock import run_virtual


def test_publish_reaches_every_subscriber_in_order():
    bus = EventBus()
    a, b = bus.subscribe(), bus.subscribe()
    bus.publish(events.FILL, 1, level=-1, price="100")
    bus.publish(events.PAUSE, 2, reason="manual")
    for sub in (a, b):
        first, second = sub.get_nowait(), sub.get_nowait()
        assert first is not None and first.as_dict() == {"kind": "fill", "ts_ms": 1, "level": -1, "price": "100"}
        assert second is not None and second.kind == events.PAUSE and second.data["reason"] == "manual"
        assert sub.get_nowait() is None
    assert bus.published == 2


def test_a_slow_watcher_loses_its_oldest_events_and_never_blocks():
    bus = EventBus()
    sub = bus.subscribe(maxsize=3)
    for i in range(10):
        bus.publish(events.OUTCOME, i)
    assert sub.dropped == 7
    assert [sub.get_nowait().ts_ms for _ in range(3)] == [7, 8, 9]


def test_without_watchers_nothing_is_built():
    bus = EventBus()
    assert not bus.watched
    bus.publish(events.FILL, 1, level=1)
    assert bus.published == 0  # the no-watcher path returns before building the event
    sub = bus.subscribe()
    assert bus.watched
    bus.unsubscribe(sub)
    assert not bus.watched and sub.closed


def test_a_broken_watcher_does_not_reach_the_publisher():
    bus = EventBus()
    sub = bus.subscribe()

    class Broken(deque):
        def append(self, item):
            raise RuntimeError("watcher bug")

    sub._items = Broken()  # a watcher whose queue fails
    bus.publish(events.STOP, 1)  # must not raise
    assert bus.published == 1


def test_close_ends_iteration_after_draining():
    async def scenario():
        bus = EventBus()
        sub = bus.subscribe()
        seen = []

        async def watch():
            async for event in sub:
                seen.append(event.kind)

        task = asyncio.ensure_future(watch())
        bus.publish(events.RECONNECT, 1, stream="orders")
        await asyncio.sleep(0)
        bus.publish(events.STOP, 2)
        bus.close()
        await asyncio.wait_for(task, 5)
        return seen

    assert asyncio.run(scenario()) == ["reconnect", "stop"]


def test_a_trade_delivered_many_times_is_one_fill_event(tmp_path):
    run_virtual(_one_fill(tmp_path), start_ms=START)


async def _one_fill(tmp_path):
    engine = make_engine(venue(path((10, "30000"))), tmp_path / "j.db")
    sub = engine.events.subscribe()
    cid = encode(ClientId(engine.grid.grid_id, -1, Side.BUY, Role.OPEN, 0))
    ev = trade(cid, "1", "T1", "0.001", "29900", fees=(("BTC", D("0.000001")),))
    for _ in range(5):  # the stream delivers the same trade five times
        engine.ingest.apply("{}", [ev], "ws:trades")
    got = []
    while (item := sub.get_nowait()) is not None:
        got.append(item)
    fills = [e for e in got if e.kind == events.FILL]
    assert len(fills) == 1
    fill = fills[0].data
    assert fill["level"] == -1 and fill["side"] == "buy" and fill["role"] == "open"
    assert fill["price"] == "29900" and fill["qty"] == "0.001" and fill["client_id"] == cid
    assert fill["fee"] == "0.000001" and fill["fee_asset"] == "BTC"
    # Five deliveries, one OUTCOME summary (throttled): never one event per duplicate.
    assert len([e for e in got if e.kind == events.OUTCOME]) == 1
    assert engine.ledger.counts["DUPLICATE"] == 4
    engine.journal.close()


def test_the_pause_switch_publishes_pause_and_resume(tmp_path):
    run_virtual(_pause(tmp_path), start_ms=START)


async def _pause(tmp_path):
    engine = make_engine(venue(path((10, "30000"))), tmp_path / "j.db")
    sub = engine.events.subscribe()
    engine.manual_pause = True
    engine.manual_pause = True  # no change: no second event
    engine.manual_pause = False
    got = []
    while (ev := sub.get_nowait()) is not None:
        got.append((ev.kind, ev.data.get("reason")))
    assert got == [("pause", "manual"), ("resume", "")]
    engine.journal.close()
