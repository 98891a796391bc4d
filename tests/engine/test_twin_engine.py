"""Issue 7 item 2 (second half): two engines for one grid on one account, each with its own
journal. Our client ids carry the grid id and a generation persisted before sending (R7), so an
order under our grid id that this journal never sent is another engine's: detect it, pause
opening orders, count it, show it. R7's recovery of our own orders (a lost database, a fill
before the place call returned) must keep working without raising the alarm."""

from __future__ import annotations

import asyncio
import logging

from gridledger.domain.coid import ClientId, decode, encode
from gridledger.domain.types import Role, Side
from gridledger.strategy import Cancel

TWIN = "another engine is trading this grid"


async def _started(world, db):
    eng = await world.run_for(20, world.engine(db=db))
    assert len(eng.ledger.live_orders()) == 3  # buys at 29900, 29800, 29700
    return eng


def test_an_order_under_our_grid_id_at_a_generation_we_never_sent_pauses_opening_orders(world, caplog):
    async def scenario():
        sim = await world.start((200, "30000"))
        eng = await _started(world, "a.db")
        assert eng.twin_detected is None and not eng.paused
        # The other engine's journal is ahead: it sends generation 4 of level -1.
        level_gen = eng.ledger.slots[-1].next_gen
        twin_id = encode(ClientId("e1", -1, Side.BUY, Role.OPEN, level_gen + 3))
        await sim.create_order("BTC/USDT", "limit", "buy", "0.003", "29900", {"clientOrderId": twin_id})
        await asyncio.sleep(5)
        assert eng.twin_detected is not None and eng.stats.twin_evidence >= 1
        assert eng.paused and TWIN in eng.pause_reasons
        from gridledger.engine.metrics import EngineCollector

        families = {f.name: f for f in EngineCollector(eng).collect()}
        assert any(s.labels.get("reason") == TWIN and s.value == 1 for s in families["gridledger_pause_reason"].samples)
        assert any(
            s.labels.get("kind") == "twin_evidence" and s.value >= 1
            for s in families["gridledger_engine_events"].samples
        )
        # The evidence is still applied (R7): the ledger keeps matching the account.
        assert eng.ledger.order(twin_id) is not None
        # Opening orders stay paused: a freed slot is not refilled.
        placed = eng.stats.placed
        own = next(r for r in eng.ledger.live_orders() if r.client_id != twin_id and r.level == -3)
        await eng.orders.cancel(Cancel(own.level, own.client_id, "test"), force=True)
        await asyncio.sleep(30)
        assert eng.stats.placed == placed
        await world.stop(eng)
        result = world.audit(eng)
        assert result.match, result.differences

    with caplog.at_level(logging.INFO, logger="gridledger"):
        world.run(scenario())
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and TWIN in r.getMessage()]
    assert errors and "never sent" in errors[0].fields["reason"]


def test_our_client_id_reused_for_another_exchange_order_is_a_twin(world):
    async def scenario():
        sim = await world.start((200, "30000"))
        eng = await _started(world, "a.db")
        own = next(r for r in eng.ledger.live_orders() if r.level == -3)
        eng.manual_pause = True  # keep our own engine from refilling the level meanwhile
        await eng.orders.cancel(Cancel(own.level, own.client_id, "test"), force=True)
        await asyncio.sleep(2)
        assert not eng.ledger.order(own.client_id).live and eng.twin_detected is None
        # An engine with an older journal reuses that (now closed) client id for a new order.
        await sim.create_order("BTC/USDT", "limit", "buy", "0.003", "29700", {"clientOrderId": own.client_id})
        await asyncio.sleep(5)
        assert eng.twin_detected is not None and "carries our client id" in eng.twin_detected
        await world.stop(eng)

    world.run(scenario())


def test_a_lost_database_is_recovered_without_the_twin_alarm(world):
    async def scenario():
        await world.start((40, "30000"), (40, "29750"), (200, "29750"))
        eng = await _started(world, "old.db")
        await world.crash(eng)
        # The journal is lost: a new one starts on the same account, with our orders live
        # (and some filling) on the exchange. R7: recovered from their ids, no alarm.
        fresh = world.engine(db="new.db")
        await world.run_for(80, fresh)  # the price falls through 29900 and 29800: fills, closing sells
        assert fresh.ledger.position > 0 or fresh.ledger.realized_pnl > 0
        assert fresh.twin_detected is None and fresh.stats.twin_evidence == 0
        assert TWIN not in fresh.pause_reasons
        await world.stop(fresh)
        result = world.audit(fresh)
        assert result.match, result.differences

    world.run(scenario())


def test_a_normal_session_with_fills_and_instant_fills_raises_no_alarm(world):
    async def scenario():
        # A taker fallback fills at once: its evidence can race the create call's answer.
        await world.start((30, "30000"), (60, "29650"), (60, "30150"), (60, "29550"), stream_latency_ms=0)
        eng = await _started(world, "a.db")
        await asyncio.sleep(170)
        await world.stop(eng)
        assert eng.ledger.realized_pnl > 0 and eng.stats.placed > 6
        assert eng.twin_detected is None and eng.stats.twin_evidence == 0

    world.run(scenario())


def test_twin_ids_decode_to_our_grid():
    # The premise: the other engine's ids are indistinguishable from ours but for the generation.
    twin = decode(encode(ClientId("e1", -1, Side.BUY, Role.OPEN, 7)))
    assert twin is not None and twin.grid_id == "e1" and twin.generation == 7
