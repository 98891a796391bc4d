"""The engine against the simulated venue, in virtual time: reconciliation and error handling."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.exchange.sim.faults import StreamFaults
from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal
from gridledger.strategy import Cancel, Place


def test_startup_reconciliation_after_fills_while_the_engine_was_down(world):
    async def scenario():
        sim = await world.start((40, "30000"), (60, "29650"), (60, "29650"))
        eng = await world.run_for(30, world.engine())
        assert len(eng.ledger.live_orders()) == 3  # buys at 29900, 29800, 29700
        # Crash: no shutdown; the venue drops the connection and keeps trading.
        await world.crash(eng)
        await asyncio.sleep(60)  # the price falls through every buy while nobody listens
        assert sum(o.filled for o in sim.core.orders.values()) > 0
        fresh = world.engine()
        assert fresh.ledger.position == 0  # the journal knows nothing of those fills
        await fresh.start()  # reconciles before placing anything
        result = world.audit(fresh)
        assert result.match, result.differences
        assert fresh.ledger.position > 0
        assert fresh.drift.ok  # a ledger that agrees with the exchange reports zero drift (P4)
        await fresh.shutdown()

    world.run(scenario())


def test_create_timeout_is_resolved_by_querying_the_client_id(world):
    async def scenario():
        sim = await world.start((120, "30000"), create_timeout_p=1.0)
        eng = await world.run_for(90, world.engine())
        # Every create "timed out", yet every order was found and linked, none placed twice.
        assert eng.stats.unknown_creates >= 3
        open_orders = sim.core.open_orders()
        assert len(open_orders) == 3
        assert len({o.price for o in open_orders}) == 3
        for order in open_orders:
            rec = eng.ledger.order(order.client_order_id)
            assert rec is not None and rec.order_id == str(order.order_id)
        await world.stop(eng)
        assert world.audit(eng).match

    world.run(scenario())


def test_post_only_rejection_is_evidence_and_counts_toward_retries(world):
    async def scenario():
        await world.start((60, "30000"))
        eng = await world.ready(world.engine())
        # A post-only buy above the market would take liquidity: the venue refuses it.
        await eng.orders.place(
            Place(level=1, side=Side.BUY, role=Role.OPEN, price=D("30100"), amount=D("0.001"), post_only=True)
        )
        assert eng.stats.post_only_rejects == 1
        assert eng.state.rejects(1) == 1
        slot = eng.ledger.slots[1]
        assert slot.bound is None and slot.state.qty == 0
        rec = eng.ledger.order(slot.orders[0].client_id if slot.orders else None) if slot.orders else None
        assert rec is None or rec.status is OrderStatus.REJECTED
        assert eng.ledger.counts["APPLIED"] >= 1

    world.run(scenario())


def test_cancel_of_an_order_that_filled_meanwhile_asks_the_exchange(world):
    async def scenario():
        sim = await world.start((20, "30000"), (40, "29850"))
        eng = await world.ready(world.engine())
        await eng.orders.place(
            Place(level=-1, side=Side.BUY, role=Role.OPEN, price=D("29900"), amount=D("0.003"), post_only=True)
        )
        rec = eng.ledger.live_orders()[0]
        sim.stream.disconnect()  # the fill will not be seen on the stream
        await asyncio.sleep(30)
        assert sim.core.get_order(rec.client_id).filled == D("0.003")
        await eng.orders.cancel(Cancel(level=-1, client_id=rec.client_id, reason="test"))
        await eng.answer_queries()
        rec = eng.ledger.order(rec.client_id)
        assert rec.status is OrderStatus.FILLED and rec.filled == D("0.003")
        assert eng.ledger.position == D("0.003") - D("0.000003")  # base fee on the buy

    world.run(scenario())


def test_bad_stream_messages_are_rejected_and_the_session_goes_on(world):
    async def scenario():
        sim = await world.start((90, "30000"))
        real_watch = sim.watch_orders
        calls = {"n": 0}

        async def watch_orders(symbol=None, since=None, limit=None, params={}):  # noqa: B006 - ccxt's signature
            calls["n"] += 1
            if calls["n"] == 2:
                other = {
                    "e": "executionReport",
                    "E": 1,
                    "s": "ETHBTC",
                    "c": "x",
                    "S": "BUY",
                    "o": "LIMIT",
                    "f": "GTC",
                    "q": "1",
                    "p": "0.05",
                    "x": "NEW",
                    "X": "NEW",
                    "i": 5,
                    "l": "0",
                    "z": "0",
                    "L": "0",
                    "n": "0",
                    "N": None,
                    "T": 1,
                    "t": -1,
                    "I": 1,
                    "Z": "0",
                }
                broken = {"e": "executionReport", "s": "BTCUSDT", "X": "NEW", "z": "NaN"}
                return [{"info": other}, {"info": broken}, {"info": {"e": "executionReport", "unexpected": [1]}}]
            return await real_watch(symbol, since, limit, params)

        sim.watch_orders = watch_orders  # type: ignore[method-assign]
        eng = await world.run_for(60, world.engine())
        assert eng.ledger.counts["REJECTED"] >= 3
        assert eng.stats.bad_messages >= 2
        assert len(eng.ledger.live_orders()) == 3  # the grid kept working
        await world.stop(eng)
        assert world.audit(eng).match

    world.run(scenario())


def test_drift_pauses_opening_orders_until_it_is_resolved(world):
    async def scenario():
        sim = await world.start((400, "30000"))
        eng = await world.run_for(20, world.engine())
        assert len(eng.ledger.live_orders()) == 3
        sim.core.deposit("BTC", D("0.5"))  # not the grid's doing: drift
        await eng.reconcile("test")
        await eng.reconcile("test")
        assert eng.drift_paused and eng.paused and eng.drift.base_drift == D("0.5")
        placed = eng.stats.placed
        for rec in eng.ledger.live_orders():  # free the slots: a running grid would refill them
            await eng.orders.cancel(Cancel(rec.level, rec.client_id, "test"), force=True)
        await asyncio.sleep(20)
        assert eng.stats.placed == placed  # paused: no opening orders
        sim.core.deposit("BTC", D("-0.5"))
        await eng.reconcile("test")
        assert not eng.paused
        await asyncio.sleep(20)
        assert eng.stats.placed > placed
        await world.stop(eng)

    world.run(scenario())


def test_reconnect_triggers_a_rest_reconciliation(world):
    async def scenario():
        faults = StreamFaults(disconnect_every=3, replay_last=2, seed=1)
        sim = await world.start((30, "30000"), (60, "29650"), (30, "30100"), stream_faults=faults)
        eng = await world.run_for(115, world.engine())
        assert eng.stats.reconnects >= 2 and sim.faults.dropped + sim.faults.replayed > 0
        await world.stop(eng)
        await eng.reconcile("final")
        result = world.audit(eng)
        assert result.match, result.differences
        assert eng.ledger.counts["DUPLICATE"] > 0

    world.run(scenario())


def test_order_never_received_by_the_exchange_is_closed_by_evidence_only(world):
    async def scenario():
        await world.start((60, "30000"))
        eng = await world.ready(world.engine())
        rec = eng.ledger.new_order(-1, Side.BUY, Role.OPEN, D("0.003"), D("29900"))
        eng.journal.record_intent("lost in transit")
        await eng.query(rec)
        assert eng.ledger.order(rec.client_id).live  # one "not found" is not evidence yet
        await asyncio.sleep(5)
        await eng.query(rec)
        assert eng.ledger.order(rec.client_id).status is OrderStatus.REJECTED

    world.run(scenario())


def test_drift_of_a_linear_contract_is_measured_on_the_position(world, tmp_path):
    from gridledger.config import parse_config
    from gridledger.engine.runtime import GridEngine
    from gridledger.ledger.evidence import TradeEvidence

    cfg = parse_config({"grid": {"id": "p1", "symbol": "BTC/USDT:USDT", "anchor": "30000", "interval": "100"}})

    class Perp:
        id = "binanceusdm"
        markets: dict = {}  # noqa: RUF012 - a fake venue's attribute, never mutated
        contracts = "0"

        async def fetch_positions(self, symbols=None, params={}):  # noqa: B006 - ccxt's signature
            return [
                {"symbol": "BTC/USDT:USDT", "contracts": self.contracts, "contractSize": "1", "side": "long"},
                {"symbol": "ETH/USDT:USDT", "contracts": "5", "contractSize": "1", "side": "long"},
            ]

    async def scenario():
        ex = Perp()
        journal = world.journal(Journal.open(tmp_path / "j.db", Ledger(cfg.grid.spec()), synchronous="OFF"))
        eng = GridEngine(ex, journal, cfg, now_ms=lambda: 0)
        assert (await eng.check_drift()).base_drift == 0  # the baseline is set on first sight
        from gridledger.domain.coid import ClientId, encode

        cid = encode(ClientId("p1", -1, Side.BUY, Role.OPEN, 0))
        journal.apply_message(
            "fill", [TradeEvidence("BTC/USDT:USDT", "9", cid, "t1", Side.BUY, D("0.5"), D("29900"), D("14950"), ())]
        )
        ex.contracts = "0.5"
        assert (await eng.check_drift()).base_drift == 0
        ex.contracts = "0.7"
        assert (await eng.check_drift()).base_drift == D("0.2")

    world.run(scenario())


def test_a_refused_level_backs_off_instead_of_hammering_the_exchange(world):
    async def scenario():
        # 150 USDT: the first buy (100) fits, the second is refused for insufficient balance.
        sim = world.venue((600, "30000"))
        sim.core.deposit("USDT", D("-9850"))
        await sim.start()
        eng = await world.run_for(590, world.engine())
        await world.stop(eng)
        # Without the back-off every tick (one a second) would try again: ~1,000 refusals.
        assert 2 <= eng.stats.rejected <= 20
        assert len(sim.core.open_orders()) == 1

    world.run(scenario())
