"""ccxt.pro.binance (unmodified) against LocalBinance over WebSockets: tickers, the user data
stream and its faults (latency, duplicates, reordering, disconnect + replay)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import ccxt

from gridledger.exchange.sim.faults import StreamFaults
from gridledger.exchange.sim.prices import SyntheticPath
from gridledger.testkit.local_binance import LocalBinance, LocalBinanceConfig
from gridledger.testkit.local_binance.testing import FrameSpy, ccxt_waiting, local_exchange, until, ws_api_client

SYMBOL = "BTC/USDT"
TIMEOUT = 5


def run(body: Callable[[LocalBinance, Any], Awaitable[None]], config: LocalBinanceConfig | None = None) -> None:
    async def main() -> None:
        async with local_exchange(config) as (server, exchange):
            await asyncio.wait_for(body(server, exchange), 20)

    asyncio.run(main())


def test_watch_ticker_gets_each_print() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        # ccxt 4.5.90's watch_ticker subscribes <symbol>@miniTicker: no bid/ask in it.
        task = asyncio.create_task(ex.watch_ticker(SYMBOL))
        await server.wait_market_subscribers("btcusdt@miniTicker")
        await server.set_price("30123.45")
        ticker = await asyncio.wait_for(task, TIMEOUT)
        assert ticker["symbol"] == SYMBOL and Decimal(ticker["last"]) == Decimal("30123.45")
        assert ticker["info"]["e"] == "24hrMiniTicker" and ticker["bid"] is None
        # The full 24hrTicker (with bid/ask) on request.
        task = asyncio.create_task(ex.watch_ticker(SYMBOL, {"name": "ticker"}))
        await server.wait_market_subscribers("btcusdt@ticker")
        await server.set_price("30000.01")
        ticker = await asyncio.wait_for(task, TIMEOUT)
        assert Decimal(ticker["last"]) == Decimal("30000.01") and ticker["info"]["e"] == "24hrTicker"
        assert Decimal(ticker["bid"]) == Decimal("30000.00") and Decimal(ticker["ask"]) == Decimal("30000.02")


def test_fill_reaches_watch_orders_and_watch_my_trades() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        order = await ex.create_order(
            SYMBOL, "limit", "buy", "0.001", "29000", {"postOnly": True, "clientOrderId": "g-1"}
        )
        orders_task = asyncio.create_task(ex.watch_orders(SYMBOL))
        await server.wait_user_subscribers()
        await ccxt_waiting(ex, f"orders:{SYMBOL}")
        trades_task = asyncio.create_task(ex.watch_my_trades(SYMBOL))
        await ccxt_waiting(ex, f"myTrades:{SYMBOL}")

        fills = await server.set_price("28950")
        assert len(fills) == 1
        updates = await asyncio.wait_for(orders_task, TIMEOUT)
        trades = await asyncio.wait_for(trades_task, TIMEOUT)

        truth = [e.payload for e in server.core.events if e.kind == "executionReport"]
        (update,) = updates
        assert update["id"] == order["id"] and update["status"] == "closed"
        assert update["info"] == truth[-1]  # info is the raw executionReport
        assert update["info"]["x"] == "TRADE" and update["info"]["c"] == "g-1"
        (trade,) = trades
        assert trade["id"] == str(fills[0].trade_id) and trade["order"] == order["id"]
        assert Decimal(trade["amount"]) == Decimal("0.001") and Decimal(trade["price"]) == Decimal("29000")
        assert trade["fee"]["currency"] == "BTC" and Decimal(trade["fee"]["cost"]) == fills[0].fee

    run(body)


def test_watch_balance_follows_account_positions() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        task = asyncio.create_task(ex.watch_balance())
        await server.wait_user_subscribers()
        await ccxt_waiting(ex, "spot:balance")
        await ex.create_order(SYMBOL, "limit", "buy", "0.01", "29000")
        balance = await asyncio.wait_for(task, TIMEOUT)
        assert Decimal(balance["USDT"]["used"]) == Decimal("290")
        assert Decimal(balance["USDT"]["free"]) == server.core.balance("USDT").free

    run(body)


def test_stream_latency_lets_rest_answer_first() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        spy = FrameSpy(ex)
        task = asyncio.create_task(ex.watch_orders())
        await server.wait_user_subscribers()
        await ccxt_waiting(ex)
        order = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000")
        # The REST answer is in; the executionReport is still on its way.
        assert spy.events("executionReport") == [] and server.venue.user.in_flight == 2
        (update,) = await asyncio.wait_for(task, TIMEOUT)
        assert update["id"] == order["id"] and update["status"] == "open"

    run(body, LocalBinanceConfig(stream_latency_ms=150))


def test_duplicates_and_reordering_reach_ccxt() -> None:
    faults = StreamFaults(duplicate_p=1.0, reorder_window=3, seed=7, reorder_hold_ms=60_000)

    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        spy = FrameSpy(ex)
        asyncio.create_task(ex.watch_orders()).add_done_callback(lambda t: t.exception())
        await server.wait_user_subscribers()
        await ccxt_waiting(ex)
        await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000")
        # NEW + account position, each sent twice = 4 messages: one window of 3 goes out
        # shuffled, the 4th waits for reorder_hold_ms or flush_user_stream().
        await until(lambda: len(spy.events()) == 3, TIMEOUT, "3 frames")
        assert server.venue.user.in_flight == 1
        server.flush_user_stream()
        await until(lambda: len(spy.events()) == 4, TIMEOUT, "4 frames")
        truth = [e.payload for e in server.core.events]
        in_order = [truth[0], truth[0], truth[1], truth[1]]
        seen = spy.events()
        assert sorted(map(str, seen)) == sorted(map(str, in_order))
        # (the reordered counter counts moved positions, also swaps of identical copies)
        assert server.counters()["duplicated"] == 2

    run(body, LocalBinanceConfig(stream_faults=faults))


def test_server_disconnect_then_reconnect_with_replay() -> None:
    faults = StreamFaults(disconnect_every=3, replay_last=2)

    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        spy = FrameSpy(ex)
        pending = asyncio.create_task(ex.watch_my_trades(SYMBOL))  # NEW reports do not resolve it
        await server.wait_user_subscribers()
        await ccxt_waiting(ex, f"myTrades:{SYMBOL}")
        a1 = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000")  # events 1, 2
        a2 = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "28000")  # 3, drop, 4 lost
        try:
            await asyncio.wait_for(pending, TIMEOUT)
            raise AssertionError("the pending watch must fail")
        except ccxt.NetworkError as exc:  # a watch pending at the drop fails with NetworkError
            assert "closed" in str(exc)
        assert ws_api_client(ex) is None  # ccxt dropped the connection object already
        await ex.cancel_order(a1["id"], SYMBOL)  # happens while disconnected: lost
        assert server.counters()["disconnects"] == 1 and server.counters()["dropped"] == 3

        delivered = [e.payload for e in server.core.events[:3]]
        seen_before = len(spy.frames)
        watch = asyncio.create_task(ex.watch_orders(SYMBOL))  # reconnects and resubscribes
        await server.wait_user_subscribers()
        await until(lambda: len(spy.frames) >= seen_before + 3, TIMEOUT, "ack + replay")
        ack, *replayed = [m for _, _, m in spy.frames[seen_before : seen_before + 3]]
        assert ack["status"] == 200 and "subscriptionId" in ack["result"]
        assert [m["event"] for m in replayed] == delivered[1:3]  # the last 2 delivered, again
        assert server.counters()["replayed"] == 2

        # Replayed frames can land before ccxt's watch future exists (they then sit in
        # exchange.orders until the next resolution), so collect until a2's fill shows.
        await server.set_price("27999")
        statuses: dict[str, str] = {}
        while statuses.get(a2["id"]) != "closed":
            for update in await asyncio.wait_for(watch, TIMEOUT):
                statuses[update["id"]] = update["status"]
            watch = asyncio.create_task(ex.watch_orders(SYMBOL))
        watch.cancel()
        # The cancel of a1 was lost: ccxt still believes it is open; REST knows better.
        assert ex.orders.hashmap[SYMBOL][a1["id"]]["status"] == "open"
        assert (await ex.fetch_order(a1["id"], SYMBOL))["status"] == "canceled"

    run(body, LocalBinanceConfig(stream_faults=faults))


def test_a_drop_without_a_pending_watch_is_silent_for_ccxt() -> None:
    """ccxt only fails futures pending at the drop; otherwise the next watch just reconnects."""
    faults = StreamFaults(disconnect_every=1)

    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        task = asyncio.create_task(ex.watch_orders(SYMBOL))
        await server.wait_user_subscribers()
        await ccxt_waiting(ex, f"orders:{SYMBOL}")
        first = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000")
        (update,) = await asyncio.wait_for(task, TIMEOUT)  # the NEW report, then the drop
        assert update["id"] == first["id"]
        # Nothing raises; ccxt just forgets the connection once it notices the drop.
        await until(lambda: ws_api_client(ex) is None, TIMEOUT, "ccxt to notice the drop")
        task = asyncio.create_task(ex.watch_orders(SYMBOL))
        await server.wait_user_subscribers()
        await ccxt_waiting(ex, f"orders:{SYMBOL}")
        second = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "28000")
        (update,) = await asyncio.wait_for(task, TIMEOUT)
        assert update["id"] == second["id"]

    run(body, LocalBinanceConfig(stream_faults=faults))


def test_disconnect_modes_as_ccxt_sees_them() -> None:
    """abort: the TCP connection just ends (ccxt: close code 1006); close: a close frame
    first (ccxt: code 1000, and its close handling then runs a second time with 1006)."""
    for mode, code in (("abort", "1006"), ("close", "1000")):

        async def body(server: LocalBinance, ex: Any, code: str = code) -> None:
            await ex.load_markets()
            pending = asyncio.create_task(ex.watch_my_trades(SYMBOL))
            await server.wait_user_subscribers()
            await ccxt_waiting(ex, f"myTrades:{SYMBOL}")
            await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000")  # 2 events, then the drop
            try:
                await asyncio.wait_for(pending, TIMEOUT)
                raise AssertionError("the pending watch must fail")
            except ccxt.NetworkError as exc:
                assert f"closing code {code}" in str(exc)
            retry = asyncio.create_task(ex.watch_orders(SYMBOL))
            await server.wait_user_subscribers()
            await ccxt_waiting(ex, f"orders:{SYMBOL}")
            order = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "28000")
            # (order 1's NEW report, cached before, comes along as an unseen update)
            assert [u["id"] for u in await asyncio.wait_for(retry, TIMEOUT)][-1] == order["id"]

        faults = StreamFaults(disconnect_every=2)
        run(body, LocalBinanceConfig(stream_faults=faults, disconnect_mode=mode))  # type: ignore[arg-type]


def test_demo_mode_plays_a_path_in_real_time() -> None:
    path = SyntheticPath(seed=3, start_price=Decimal("30000"), price_step=Decimal("0.01"), n=5)

    async def body(server: LocalBinance, ex: Any) -> None:
        await until(lambda: len(server.core._prints) == 5, TIMEOUT, "5 prints")
        ticker = await ex.fetch_ticker(SYMBOL)
        assert Decimal(ticker["last"]) == list(path)[-1].price

    run(body, LocalBinanceConfig(path=path, tick_interval_ms=5, initial_price=None))


def test_keepalive_pings_are_answered() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        ex.streaming = {**ex.streaming, "keepAlive": 20}
        await ex.load_markets()
        task = asyncio.create_task(ex.watch_orders())
        await server.wait_user_subscribers()
        client = ws_api_client(ex)
        await until(lambda: client.lastPong is not None, TIMEOUT, "a pong")
        first = client.lastPong
        await until(lambda: client.lastPong > first, TIMEOUT, "another pong")
        assert not task.done()  # no ping-pong timeout
        task.cancel()

    run(body)
