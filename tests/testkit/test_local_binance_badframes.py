"""What ccxt.pro.binance 4.5.90 does with bad frames on the user data stream.

Summary (the engine must know):

- unknown extra fields in an executionReport: passed through; ``info`` carries them.
- an executionReport for a symbol the client has no market for: NOT dropped. watch_orders()
  without a symbol returns it with ``symbol`` = the raw venue id ("ETHUSDT");
  watch_orders("BTC/USDT") does not resolve on it and filters it out.
- a text frame that is not JSON (does not start with ``{``/``[``): ignored.
- malformed JSON starting with ``{``: ccxt's json.loads raises inside its receive-loop
  callback; the exception goes to the event loop's exception handler and the receive loop
  is dead. Nothing more is processed on that connection (watches just hang) until ccxt's
  ping-pong keepalive notices (2 x ``streaming.keepAlive``, 180 s by default for binance),
  fails the pending watch with RequestTimeout and lets the next watch reconnect.
- eventStreamTerminated: ccxt parks an ExchangeError under a hash nobody waits on; the
  pending watch is NOT woken. The next watch call re-subscribes on the same connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt

from gridledger.testkit.local_binance import LocalBinance, LocalBinanceConfig
from gridledger.testkit.local_binance.testing import ccxt_waiting, local_exchange, until, ws_api_client

SYMBOL = "BTC/USDT"
TIMEOUT = 5


def run(body: Callable[[LocalBinance, Any], Awaitable[None]], config: LocalBinanceConfig | None = None) -> None:
    async def main() -> None:
        async with local_exchange(config) as (server, exchange):
            await asyncio.wait_for(body(server, exchange), 20)

    asyncio.run(main())


async def subscribed_watch(server: LocalBinance, ex: Any, symbol: str | None = None) -> asyncio.Task[Any]:
    task = asyncio.create_task(ex.watch_orders(symbol))
    await server.wait_user_subscribers()
    await ccxt_waiting(ex, "orders" if symbol is None else f"orders:{symbol}")
    return task


def test_unknown_fields_pass_through() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        order = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000")
        task = await subscribed_watch(server, ex)
        sent = server.inject_unknown_fields({"zz": "new", "Xq": {"nested": [1, 2]}})
        (update,) = await asyncio.wait_for(task, TIMEOUT)
        assert update["id"] == order["id"] and update["status"] == "open"
        assert update["info"] == sent and update["info"]["zz"] == "new"
        assert server.counters()["injected_unknown_fields"] == 1
        # The stream goes on.
        task = await subscribed_watch(server, ex)
        await server.set_price("28999")
        assert (await asyncio.wait_for(task, TIMEOUT))[-1]["status"] == "closed"

    run(body)


def test_other_symbol_is_passed_through_under_its_raw_id() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        order = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000")
        any_symbol = await subscribed_watch(server, ex)
        our_symbol = asyncio.create_task(ex.watch_orders(SYMBOL))
        await ccxt_waiting(ex, f"orders:{SYMBOL}")
        server.inject_other_symbol("ETHUSDT", order_id=777)
        (foreign,) = await asyncio.wait_for(any_symbol, TIMEOUT)
        assert foreign["symbol"] == "ETHUSDT" and foreign["id"] == "777"
        assert not our_symbol.done()
        await server.set_price("28999")
        updates = await asyncio.wait_for(our_symbol, TIMEOUT)
        assert [(u["symbol"], u["id"]) for u in updates] == [(SYMBOL, order["id"])]
        assert server.counters()["injected_other_symbol"] == 1

    run(body)


def test_non_json_text_is_ignored() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        order = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000")
        task = await subscribed_watch(server, ex)
        assert server.inject_raw("this is not json") == 1
        await server.set_price("28999")
        (update,) = await asyncio.wait_for(task, TIMEOUT)
        assert update["id"] == order["id"] and update["status"] == "closed"
        assert server.counters()["injected_raw"] == 1

    run(body)


def test_malformed_json_kills_the_receive_loop_until_keepalive() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        loop = asyncio.get_running_loop()
        errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        # Default binance keepAlive is 180 s; shorten it so the watchdog fires in the test.
        ex.streaming = {**ex.streaming, "keepAlive": 100}
        await ex.load_markets()
        order = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000")
        task = await subscribed_watch(server, ex)
        dead = ws_api_client(ex)
        server.inject_malformed_json()
        await until(lambda: bool(errors), TIMEOUT, "the decode error")
        assert "JSONDecodeError" in type(errors[0].get("exception")).__name__
        # The fill's report reaches the socket but ccxt never reads it...
        await server.set_price("28999")
        try:
            await asyncio.wait_for(task, TIMEOUT)
            raise AssertionError("the watch must fail")
        except ccxt.RequestTimeout as exc:  # ...until the ping-pong watchdog gives up
            assert "ping-pong" in str(exc)
        assert ws_api_client(ex) is not dead
        # The next watch reconnects; the lost fill is only visible through REST.
        assert (await ex.fetch_order(order["id"], SYMBOL))["status"] == "closed"
        again = await subscribed_watch(server, ex)
        second = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "28000")
        assert [u["id"] for u in await asyncio.wait_for(again, TIMEOUT)][-1] == second["id"]
        assert server.counters()["injected_malformed_json"] == 1

    run(body)


def test_event_stream_terminated_leaves_the_watch_pending() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        order = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000")
        task = await subscribed_watch(server, ex)
        assert server.terminate_user_stream() == 1
        client = ws_api_client(ex)
        await until(lambda: "spot" in client.rejections, TIMEOUT, "ccxt to park the error")
        assert isinstance(client.rejections["spot"], ccxt.ExchangeError)
        assert not task.done()
        # Events now are not sent (no subscription) ...
        await ex.cancel_order(order["id"], SYMBOL)
        # ... and the next watch subscribes again on the same connection.
        again = asyncio.create_task(ex.watch_orders())
        await server.wait_user_subscribers()
        assert ws_api_client(ex) is client
        second = await ex.create_order(SYMBOL, "limit", "buy", "0.001", "28000")
        for t in (task, again):  # both share ccxt's "orders" future
            assert [u["id"] for u in await asyncio.wait_for(t, TIMEOUT)][-1] == second["id"]

    run(body)
