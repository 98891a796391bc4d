"""A held action is taken when what held it is released, without waiting for a new price.

The decider holds some actions back: a closing order whose slot's fees are not all known
yet, an order at a level waiting out a refusal, opening orders while paused. In a quiet
market no new price may come for a long time, so each release must decide again at the last
price (engine/decisions.py, ``Shared.unblocked``):

1. a fill first learned by a REST order query after a stream drop: its fees come with the
   order's trades, fetched next; the close goes out then, not at the next price;
2. a level's back-off ends: the close held by it goes out then (a timer);
3. a drift pause lifted by a reconciliation: the opening orders it left out go out then;
4. a risk exit's close held for the fees of a fill learned by REST goes out when they come;
5. an engine that holds nothing makes no extra decisions (the plan gate stays quiet).

Every path here ends with a last tick far in the future (``FAR_S``), so nothing but the
release can make the engine decide while the test watches. Virtual time throughout.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from engine_helpers import BALANCES, START, path

from gridledger.config import Config, parse_config
from gridledger.engine.runtime import GridEngine
from gridledger.exchange.sim.exchange import SimExchange
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.exchange.sim.venue_config import SimConfig

FAR_S = 600  # the path's last tick: long after every check below


def cfg(risk: dict[str, str] | None = None, **engine: Any) -> Config:
    return parse_config(
        {
            "risk": risk or {},
            "grid": {"id": "e1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"},
            "strategy": {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10},
            "engine": {
                "journal_synchronous": "OFF",
                "reconcile_every_s": 60,
                "rate_limit_per_s": 50,
                # The private stream comes back 1-3 s after a drop (jitter): after the fill below.
                "stream_backoff_s": 2,
                **engine,
            },
        }
    )


def quiet_path(fill_price: str) -> list[Tick]:
    """30050 for 10 s (three buys: 29900, 29800, 29700), one print at ``fill_price`` at
    10.5 s, then nothing until FAR_S."""
    return [
        *path((10, "30050")),
        Tick(START + 10_500, D(fill_price), D("1")),
        Tick(START + FAR_S * 1000, D(fill_price), D("1")),
    ]


def quote_fee_venue(ticks: list[Tick]) -> SimExchange:
    """Fees in USDT: a buy's fee does not change the slot's quantity, so the fee arriving
    alone changes no slot (the case a base-asset fee hid: its slot correction re-decided)."""
    return SimExchange(
        SimConfig(
            spec=SimMarketSpec(participation=D("1"), fee_mode="quote"),
            balances=dict(BALANCES),
            path=ticks,
            rest_latency_ms=20,
            stream_latency_ms=10,
        )
    )


def open_orders(sim: SimExchange) -> list[tuple[str, D]]:
    return sorted((o.side.value, o.price) for o in sim.core.open_orders())


def seconds(sim: SimExchange) -> float:
    return (sim.now_ms() - START) / 1000


def test_a_fill_learned_by_rest_after_a_stream_drop_gets_its_close_without_a_new_price(world: Any) -> None:
    async def scenario() -> None:
        world.sim = sim = quote_fee_venue(quiet_path("29850"))
        await sim.start()
        eng: GridEngine = world.engine(cfg())
        await world.run_for(10.2)
        assert open_orders(sim) == [("buy", D("29700")), ("buy", D("29800")), ("buy", D("29900"))]
        # The private stream drops; the buy at 29900 fills while it is down (lost: no replay).
        sim.stream.disconnect()
        await world.run_for(40)
        assert seconds(sim) < FAR_S - 60  # no price since the fill's
        assert eng.ledger.position == D("0.00334")  # learned by REST (reconcile or query)
        assert eng.stats.reconnects >= 1
        assert ("sell", D("30000")) in open_orders(sim), open_orders(sim)
        await world.stop()
        assert world.audit().differences == []

    world.run(scenario())


def test_a_close_held_by_a_level_back_off_goes_out_when_the_back_off_ends(world: Any) -> None:
    async def scenario() -> None:
        world.sim = sim = quote_fee_venue(quiet_path("29850"))
        await sim.start()
        eng: GridEngine = world.engine(cfg(level_backoff_s=20))
        await world.run_for(10.2)
        # The venue refused an order at level -1 (the buy at 29900, whose close is a sell at
        # 30000): the level waits 20 s; the buy fills meanwhile, on the stream.
        eng.resolver.level_refused(-1, eng.clock())
        await world.run_for(5)
        assert eng.ledger.position == D("0.00334")
        assert ("sell", D("30000")) not in open_orders(sim)  # held by the back-off
        await world.run_for(30)
        assert seconds(sim) < FAR_S - 60  # no price since the fill's
        assert ("sell", D("30000")) in open_orders(sim), open_orders(sim)
        await world.stop()
        assert world.audit().differences == []

    world.run(scenario())


def test_opening_orders_left_out_by_a_drift_pause_go_out_when_a_reconciliation_lifts_it(world: Any) -> None:
    async def scenario() -> None:
        world.sim = sim = quote_fee_venue(quiet_path("29850"))
        await sim.start()
        eng: GridEngine = world.engine(cfg(reconcile_every_s=30))
        await world.run_for(10.2)
        # Drift paused opening orders (as two readings outside tolerance would): the fill at
        # 29900 moves the buy window down, and its new opening buy is left out.
        eng.reconciler.drift.paused = True
        await world.run_for(5)
        assert eng.ledger.position == D("0.00334")
        assert ("sell", D("30000")) in open_orders(sim)  # closes are never paused
        assert ("buy", D("29600")) not in open_orders(sim)
        # The next periodic reconciliation finds no drift and lifts the pause.
        await world.run_for(40)
        assert not eng.drift_paused
        assert seconds(sim) < FAR_S - 60  # no price since the fill's
        assert ("buy", D("29600")) in open_orders(sim), open_orders(sim)
        await world.stop()
        assert world.audit().differences == []

    world.run(scenario())


def test_a_risk_exit_close_held_for_fees_goes_out_when_they_are_known(world: Any) -> None:
    async def scenario() -> None:
        world.sim = sim = quote_fee_venue(quiet_path("29850"))
        await sim.start()
        eng: GridEngine = world.engine(cfg(risk={"stop_loss_price": "29860"}))
        await world.run_for(10.2)
        # The fill's print also triggers the stop loss; the stream is down, so the exit's
        # cancel of the filled buy is what reveals the fill (REST), fees known only later.
        sim.stream.disconnect()
        await world.run_for(40)
        exit_ = eng.risk_exit
        assert exit_ is not None and exit_.kind == "stop_loss"
        assert seconds(sim) < FAR_S - 60  # no price since the fill's
        sells = [o for o in sim.core.orders.values() if o.side.value == "sell"]
        assert [o.amount for o in sells] == [D("0.00334")], sells  # the exit's close of the slot
        assert sells[0].filled == sells[0].amount  # marketable: it took the resting book
        assert exit_.phase == "done" and eng.ledger.position == 0
        await world.stop()
        assert world.audit().differences == []

    world.run(scenario())


def test_an_engine_that_holds_nothing_decides_no_more_often(world: Any) -> None:
    async def scenario() -> None:
        world.sim = sim = quote_fee_venue(quiet_path("29850"))
        await sim.start()
        eng: GridEngine = world.engine(cfg())
        await world.run_for(60)
        assert eng.ledger.position == D("0.00334")
        plans = eng.decider.plans
        # Quiet: reconciliations re-read everything (duplicates), nothing is held, no decisions.
        await world.run_for(200)
        assert eng.stats.reconciles >= 4
        assert eng.decider.plans == plans
        await world.stop()

    world.run(scenario())
