"""Risk exits in the engine (issue 11 item 3): stop loss, take profit, drawdown, max_position,
each journaled before it acts, closing each slot once, pausing opening orders for good."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from engine_helpers import path, venue

from gridledger.config import Config, parse_config
from gridledger.domain.coid import decode
from gridledger.domain.types import Role, Side
from gridledger.ledger.ledger import Ledger
from gridledger.store.exits import ExitStore, clear_exit
from gridledger.store.journal import Journal


def risk_config(**risk: str) -> Config:
    return parse_config(
        {
            "grid": {"id": "e1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"},
            "strategy": {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10},
            "engine": {"journal_synchronous": "OFF", "reconcile_every_s": 60, "rate_limit_per_s": 50},
            "risk": risk,
        }
    )


async def virtual_until(condition, seconds: float, step: float = 0.5) -> None:
    """Wait (virtual time) until ``condition()``; fail after ``seconds`` instead of hanging."""
    waited = 0.0
    while not condition():
        assert waited < seconds, "condition not reached"
        await asyncio.sleep(step)
        waited += step


def exit_orders(sim, since_ms: int) -> list:
    """The venue's orders created at or after the trigger (the exit's closing orders)."""
    return sorted((o for o in sim.core.orders.values() if o.created_ms >= since_ms), key=lambda o: o.seq)


def test_stop_loss_cancels_closes_each_slot_once_and_pauses(world):
    async def scenario():
        sim = await world.start((60, "30000"), (30, "29650"), (200, "29450"))
        eng = world.engine(risk_config(stop_loss_price="29500"))
        await world.run_for(80, eng)
        # Three buys filled on the way down (29900, 29800, 29700), closing sells rest above.
        assert eng.ledger.position > 0 and eng.risk_exit is None
        held = eng.ledger.position
        await asyncio.sleep(60)
        exit_ = eng.risk_exit
        assert exit_ is not None and exit_.kind == "stop_loss" and exit_.position >= held
        assert exit_.price == D("29450") and "stop_loss_price 29500" in exit_.detail
        assert exit_.phase == "done", exit_
        assert eng.paused and any(r.startswith("risk exit stop_loss") for r in eng.pause_reasons)
        # The inventory is sold (dust aside) and nothing is live; no opening order since.
        assert eng.ledger.position < D("0.00001") * 3
        assert eng.ledger.live_orders() == []
        closes = exit_orders(sim, exit_.ts_ms)
        # One closing sell per slot, marketable within exit_slippage of the price, each filled.
        levels = [decode(o.client_order_id).level for o in closes]
        assert len(levels) == len(set(levels)) >= 3 and {o.side for o in closes} == {Side.SELL}
        assert all(o.price >= D("29450") * D("0.995") and o.filled == o.amount for o in closes)
        placed = eng.stats.placed
        await asyncio.sleep(60)
        assert eng.stats.placed == placed
        await world.stop(eng)
        result = world.audit(eng)
        assert result.match, result.differences

    world.run(scenario())


def test_take_profit_cancels_the_grid_and_places_no_opening_order_again(world):
    async def scenario():
        sim = await world.start((60, "30000"), (30, "29750"), (200, "30450"))
        eng = world.engine(risk_config(take_profit_price="30400", stop_loss_price="29000"))
        await world.run_for(150, eng)
        exit_ = eng.risk_exit
        assert exit_ is not None and exit_.kind == "take_profit" and exit_.phase == "done"
        assert "take_profit_price 30400" in exit_.detail
        assert eng.ledger.live_orders() == [] and eng.paused
        # Nothing but closing sells after the trigger: no opening buy ever again.
        assert all(o.side is Side.SELL for o in exit_orders(sim, exit_.ts_ms))
        placed = eng.stats.placed
        await asyncio.sleep(100)
        assert eng.stats.placed == placed
        await world.stop(eng)
        assert world.audit(eng).match

    world.run(scenario())


def test_max_drawdown_from_the_journaled_peak(world):
    async def scenario():
        await world.start((60, "30000"), (30, "29650"), (200, "29000"))
        eng = world.engine(risk_config(max_drawdown="5"))
        await world.run_for(85, eng)
        assert eng.risk_exit is None
        # The peak is tracked, and journaled with the next commit.
        assert eng.risk.peak is not None and eng.risk.peak >= eng.risk.equity(D("29650"))
        await asyncio.sleep(60)
        exit_ = eng.risk_exit
        assert exit_ is not None and exit_.kind == "max_drawdown", exit_
        assert "max_drawdown 5" in exit_.detail
        assert exit_.phase == "done" and eng.ledger.live_orders() == []
        assert ExitStore(eng.journal).peak() == eng.risk.peak
        await world.stop(eng)
        assert world.audit(eng).match

    world.run(scenario())


def test_max_position_caps_opening_orders(world):
    async def scenario():
        await world.start((40, "30000"), (200, "29000"))
        capped = world.engine(risk_config(max_position="0.007"))
        await world.run_for(20, capped)
        # 100 quote per level buys ~0.00334: two buys fit under 0.007, a third could exceed it.
        opens = [r for r in capped.ledger.live_orders() if r.role is Role.OPEN]
        assert len(opens) == 2
        await asyncio.sleep(150)
        assert capped.ledger.net_position <= D("0.007")
        assert capped.risk_exit is None  # a cap, not an exit
        await world.stop(capped)
        assert world.audit(capped).match

    world.run(scenario())


def test_without_max_position_the_window_is_full(world):
    async def scenario():
        await world.start((40, "30000"))
        eng = world.engine(risk_config())
        await world.run_for(20, eng)
        assert len([r for r in eng.ledger.live_orders() if r.role is Role.OPEN]) == 3
        await world.stop(eng)

    world.run(scenario())


def test_the_trigger_is_committed_before_the_first_cancel(world):
    async def scenario():
        sim = await world.start((60, "30000"), (200, "29450"))
        eng = world.engine(risk_config(stop_loss_price="29500"))
        seen: list[object] = []
        cancel = sim.cancel_order

        async def watched_cancel(*args, **kwargs):
            if not seen:
                # Read the journal file from outside, as a restart would.
                import sqlite3

                conn = sqlite3.connect(str(world.folder / "j.db"))
                seen.append(conn.execute("SELECT value FROM meta WHERE key = 'x:risk_exit'").fetchone())
                conn.close()
            return await cancel(*args, **kwargs)

        sim.cancel_order = watched_cancel
        await world.run_for(90, eng)
        assert eng.risk_exit is not None
        assert seen and seen[0] is not None and '"stop_loss"' in seen[0][0]
        await world.stop(eng)

    world.run(scenario())


def test_exit_fires_once_across_a_kill_and_restart_and_the_close_is_not_repeated(world):
    from gridledger.exchange.sim.faults import StreamFaults

    async def scenario():
        sim = await world.start(
            (60, "30000"),
            (30, "29650"),
            (300, "29450"),
            stream_faults=StreamFaults(duplicate_p=0.3, replay_last=50, drop_while_disconnected=False),
        )
        cfg = risk_config(stop_loss_price="29500", exit_slippage="0")
        first = world.engine(cfg)
        await world.run_for(60, first)
        await virtual_until(lambda: first.risk_exit is not None, 300, step=0.01)  # the trigger, then a crash
        trigger = first.risk_exit
        await world.crash(first)
        await asyncio.sleep(5)
        second = world.engine(cfg)
        # Restored from the journal before anything runs: the same trigger, not a new one.
        assert second.risk_exit is not None and second.risk_exit.ts_ms == trigger.ts_ms
        assert second.paused
        await world.run_for(120, second)
        assert second.risk_exit.ts_ms == trigger.ts_ms and second.risk_exit.phase == "done"
        closes = exit_orders(sim, trigger.ts_ms)
        levels = [decode(o.client_order_id).level for o in closes if o.filled > 0]
        assert len(levels) == len(set(levels)), "a slot was closed twice"
        assert all(o.side is Side.SELL for o in closes)
        assert second.ledger.net_position < D("0.0001")
        # The replayed and duplicated stream changed nothing: a third engine adds nothing.
        await world.stop(second)
        third = world.engine(cfg)
        await world.run_for(60, third)
        assert exit_orders(sim, trigger.ts_ms) == closes
        await world.stop(third)
        assert world.audit(third).match

    world.run(scenario())


def test_clear_exit_is_the_explicit_resume(world, tmp_path):
    async def scenario():
        await world.start((60, "30000"), (200, "29450"))
        eng = world.engine(risk_config(stop_loss_price="29500", max_drawdown="1000"))
        await world.run_for(120, eng)
        assert eng.risk_exit is not None
        await world.stop(eng)
        eng.journal.close()
        cleared = clear_exit(world.folder / "j.db")
        assert cleared is not None and cleared.kind == "stop_loss"
        assert clear_exit(world.folder / "j.db") is None
        journal = world.journal(Journal.open(world.folder / "j.db", Ledger(risk_config().grid.spec())))
        store = ExitStore(journal)
        assert store.load() is None and store.peak() is None

    world.run(scenario())


def test_a_slot_whose_closing_order_is_live_gets_nothing_new(world):
    """Thin volume: each exit close fills over many ticks, so it stays live across prices."""

    async def scenario():
        world.sim = venue(path((60, "30000"), (40, "29650"), (400, "29450"), volume="0.0005"))
        sim = world.sim
        await sim.start()
        eng = world.engine(risk_config(stop_loss_price="29500", exit_slippage="0"))
        await world.run_for(100, eng)
        await virtual_until(lambda: eng.risk_exit is not None and eng.risk_exit.phase != "cancel", 300)
        trigger = eng.risk_exit
        await asyncio.sleep(2)
        live_closes = [r for r in eng.ledger.live_orders() if r.role is Role.CLOSE]
        assert live_closes, "the scenario needs a close that rests"
        await asyncio.sleep(300)
        closes = exit_orders(sim, trigger.ts_ms)
        levels = [decode(o.client_order_id).level for o in closes]
        assert len(levels) == len(set(levels)), "a slot got a second close while its first was live"
        # Nothing was sent that the venue refused either (a second sell of the same inventory).
        assert eng.stats.rejected == 0 and eng.stats.placed == len(sim.core.orders)
        assert eng.risk_exit.phase == "done"
        await world.stop(eng)
        assert world.audit(eng).match

    world.run(scenario())


def test_the_exit_is_notified_and_shown_in_the_status(world):
    from gridledger.api.views import status_view
    from gridledger.config import NotifyConfig
    from gridledger.notify import Message, Notifier, ThreadedSender

    messages: list[Message] = []

    def collect(message: Message) -> bool:
        messages.append(message)
        return True

    async def scenario():
        await world.start((60, "30000"), (200, "29450"))
        eng = world.engine(risk_config(stop_loss_price="29500"))
        config = NotifyConfig()
        notifier = Notifier(
            config,
            ThreadedSender(collect, config.queue_size),
            grid_id="e1",
            symbol="BTC/USDT",
            now_ms=lambda: 0,
            price_step=lambda: D("0.01"),
        )
        notifier.attach(eng.events)
        await world.run_for(120, eng)
        doc = status_view(eng, started_ms=0)
        assert doc["paused"] and doc["risk_exit"]["kind"] == "stop_loss" and doc["risk_exit"]["price"] == "29450"
        assert any("risk exit stop_loss" in r for r in doc["pause_reasons"])
        await world.stop(eng)
        await notifier.aclose(5)

    world.run(scenario())
    exits = [m for m in messages if m.kind == "pause" and "risk exit stop_loss" in m.body]
    assert exits and exits[0].severity == "failure"
    assert "stop_loss_price 29500" in exits[0].body


def test_a_closing_order_the_price_left_behind_is_placed_again_at_the_new_price(world):
    async def scenario():
        ticks = path((60, "30000"), (40, "29650"), (20, "29450"), (400, "29000"), volume="0.0004")
        world.sim = venue(ticks)
        sim = world.sim
        await sim.start()
        eng = world.engine(risk_config(stop_loss_price="29500", exit_slippage="0", exit_reprice_s="5"))
        await world.run_for(100, eng)
        await virtual_until(lambda: eng.risk_exit is not None, 300)
        trigger = eng.risk_exit

        def done() -> bool:
            levels = [r.level for r in eng.ledger.live_orders()]
            assert len(levels) == len(set(levels)), "two live orders for one slot"
            return eng.risk_exit.phase == "done"

        await virtual_until(done, 300)
        closes = exit_orders(sim, trigger.ts_ms)
        by_level: dict[int, list] = {}
        for o in closes:
            by_level.setdefault(decode(o.client_order_id).level, []).append(o)
        repriced = [orders for orders in by_level.values() if len(orders) > 1]
        assert repriced, "no close was placed again"
        for orders in repriced:
            assert orders[0].price == D("29450") and orders[-1].price == D("29000")
            assert all(o.status.value == "CANCELED" for o in orders[:-1])
        assert eng.ledger.net_position < D("0.0001")
        await world.stop(eng)
        assert world.audit(eng).match

    world.run(scenario())


def test_funding_counts_in_a_perpetual_grids_equity(tmp_path):
    """max_drawdown's equity includes the funding the grid paid or received (engine/funding.py)."""
    from perp_helpers import T0, FakeUsdm, income_row, open_journal, perp_config

    from gridledger.engine.runtime import GridEngine

    cfg = perp_config()
    fake = FakeUsdm()
    fake.income = [income_row(2, "-0.25", T0 + 1000), income_row(3, "0.05", T0 + 2000)]
    eng = GridEngine(fake, open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0)
    try:
        assert eng.risk.equity(D("30000")) == 0
        eng.funding.open()
        assert asyncio.run(eng.funding.poll("test")) == 2
        assert eng.risk.equity(D("30000")) == D("-0.20")
    finally:
        eng.journal.close()
