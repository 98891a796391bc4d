"""LocalBinanceUsdm's WebSocket side: the listen-key user data stream and the market streams,
read raw (aiohttp) and through ccxt.pro.binanceusdm (unmodified), with the stream faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest

from gridledger.exchange.sim.faults import StreamFaults
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.testkit.local_binance_usdm import LocalBinanceUsdm, LocalBinanceUsdmConfig
from gridledger.testkit.local_binance_usdm.testing import ccxt_waiting, until, usdm_exchange

SYMBOL = "BTC/USDT:USDT"
SPEC = PerpMarketSpec(
    participation=D("1"), amount_step=D("0.001"), min_amount=D("0.001"), price_step=D("0.1"), min_notional=D("5")
)


def config(**kw: Any) -> LocalBinanceUsdmConfig:
    return LocalBinanceUsdmConfig(spec=SPEC, auto_funding=False, **kw)


async def listen_key(session: aiohttp.ClientSession, server: LocalBinanceUsdm, method: str = "POST") -> tuple[int, Any]:
    headers = {"X-MBX-APIKEY": server.config.api_key}
    async with session.request(method, f"{server.http_url}/fapi/v1/listenKey", headers=headers) as resp:
        return resp.status, await resp.json()


class Frames:
    """A raw user-stream connection collecting decoded frames until it closes."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.closed = False
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(msg.data))
        self.closed = True

    def kinds(self) -> list[str]:
        return [e["e"] for e in self.events]


async def connect(session: aiohttp.ClientSession, server: LocalBinanceUsdm, key: str) -> Frames:
    ws = await session.ws_connect(f"{server.ws_url}/private/ws?listenKey={key}")
    return Frames(ws)


def run(
    body: Callable[[LocalBinanceUsdm, aiohttp.ClientSession], Awaitable[None]], cfg: LocalBinanceUsdmConfig
) -> None:
    async def main() -> None:
        async with LocalBinanceUsdm(cfg) as server, aiohttp.ClientSession() as session:
            await asyncio.wait_for(body(server, session), 30)

    asyncio.run(main())


def test_a_fill_arrives_as_trade_lite_order_trade_update_and_account_update() -> None:
    async def body(server: LocalBinanceUsdm, session: aiohttp.ClientSession) -> None:
        _, answer = await listen_key(session, server)
        frames = await connect(session, server, answer["listenKey"])
        await server.wait_user_subscribers()
        server.core.place("n1", "buy", "limit", D("0.01"), D("29900"), post_only=True, now_ms=server.venue.now_ms())
        server.venue.dispatch()
        await server.set_price("29900")
        await server.settle_funding("0.001")
        await until(lambda: len(frames.events) >= 5, 5, "five events")
        assert frames.kinds() == [
            "ORDER_TRADE_UPDATE",
            "TRADE_LITE",
            "ORDER_TRADE_UPDATE",
            "ACCOUNT_UPDATE",
            "ACCOUNT_UPDATE",
        ]
        new, lite, trade, account, funding = frames.events
        assert (new["o"]["x"], new["o"]["X"], new["o"]["c"], new["o"]["f"]) == ("NEW", "NEW", "n1", "GTX")
        assert (lite["c"], lite["l"], lite["L"]) == ("n1", "0.01", "29900")
        assert (trade["o"]["x"], trade["o"]["X"], trade["o"]["z"], trade["o"]["N"]) == (
            "TRADE",
            "FILLED",
            "0.01",
            "USDT",
        )
        assert trade["o"]["t"] == lite["t"] and trade["o"]["R"] is False
        assert account["a"]["m"] == "ORDER" and account["a"]["P"][0]["pa"] == "0.01"
        assert funding["a"]["m"] == "FUNDING_FEE" and D(funding["a"]["B"][0]["bc"]) == D("-0.299")

    run(body, config())


def test_listen_keys_are_created_kept_alive_deleted_and_expire() -> None:
    async def body(server: LocalBinanceUsdm, session: aiohttp.ClientSession) -> None:
        _, first = await listen_key(session, server)
        _, again = await listen_key(session, server)
        assert first == again  # one key per account: POST returns the active one, extended
        status, kept = await listen_key(session, server, "PUT")
        assert status == 200 and kept == first
        # A connection without a valid key is refused at the handshake.
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(f"{server.ws_url}/private/ws?listenKey=not-a-key")
        frames = await connect(session, server, first["listenKey"])
        await server.wait_user_subscribers()
        assert await server.expire_listen_key() == 1
        await until(lambda: frames.closed, 5, "the connection to close")
        assert frames.events == [{"e": "listenKeyExpired", "E": frames.events[0]["E"], "listenKey": first["listenKey"]}]
        status, error = await listen_key(session, server, "PUT")
        assert status == 400 and error["code"] == -1125  # ccxt then re-authenticates with POST
        _, fresh = await listen_key(session, server)
        assert fresh != first
        frames = await connect(session, server, fresh["listenKey"])
        await server.wait_user_subscribers()
        status, _ = await listen_key(session, server, "DELETE")
        assert status == 200
        await until(lambda: frames.closed, 5, "DELETE to close the connection")
        assert server.counters()["listen_keys_created"] == 2 and server.counters()["listen_keys_expired"] == 1

    run(body, config())


def test_stream_faults_duplicate_and_drop_with_replay() -> None:
    async def body(server: LocalBinanceUsdm, session: aiohttp.ClientSession) -> None:
        _, answer = await listen_key(session, server)
        frames = await connect(session, server, answer["listenKey"])
        await server.wait_user_subscribers()
        server.core.place("d1", "buy", "limit", D("0.01"), D("29900"), now_ms=server.venue.now_ms())
        server.venue.dispatch()
        await until(lambda: frames.closed, 5, "the drop after two delivered messages")
        assert frames.kinds() == ["ORDER_TRADE_UPDATE", "ORDER_TRADE_UPDATE"]  # the NEW, duplicated
        assert server.counters()["disconnects"] == 1 and server.counters()["duplicated"] == 1
        again = await connect(session, server, answer["listenKey"])
        await until(lambda: again.events, 5, "the replay")
        assert again.events[0] == frames.events[-1]  # replay_last=1

    run(body, config(stream_faults=StreamFaults(duplicate_p=1.0, disconnect_every=2, replay_last=1, seed=1)))


def test_stream_faults_reorder_within_a_window() -> None:
    async def body(server: LocalBinanceUsdm, session: aiohttp.ClientSession) -> None:
        _, answer = await listen_key(session, server)
        frames = await connect(session, server, answer["listenKey"])
        await server.wait_user_subscribers()
        for n, price in enumerate(("29900", "29800", "29700")):
            server.core.place(f"r{n}", "buy", "limit", D("0.01"), D(price), now_ms=server.venue.now_ms())
        server.venue.dispatch()
        await until(lambda: len(frames.events) == 3, 5, "the window of three")
        assert [e["o"]["c"] for e in frames.events] == ["r0", "r2", "r1"]  # seed 0 swaps the last two
        assert server.counters()["reordered"] == 2

    run(body, config(stream_faults=StreamFaults(reorder_window=3, seed=0)))


def test_ccxt_watches_orders_trades_ticker_and_mark_price() -> None:
    async def main() -> None:
        async with usdm_exchange(config(), timeout_ms=2000) as (server, ex):
            await ex.load_markets()
            orders = asyncio.ensure_future(ex.watch_orders(SYMBOL))
            await ccxt_waiting(ex, "orders:" + SYMBOL)
            await server.wait_user_subscribers()  # the connection is up: no event can be missed
            placed = await ex.create_order(SYMBOL, "limit", "sell", "0.01", "30100", {"clientOrderId": "w1"})
            seen = await asyncio.wait_for(orders, 5)
            assert [(o["id"], o["status"], o["clientOrderId"]) for o in seen] == [(placed["id"], "open", "w1")]
            trades = asyncio.ensure_future(ex.watch_my_trades(SYMBOL))
            await ccxt_waiting(ex, "myTrades:" + SYMBOL)
            await server.set_price("30100")
            (trade,) = await asyncio.wait_for(trades, 5)
            assert (trade["order"], D(trade["amount"]), D(trade["price"]), trade["side"]) == (
                placed["id"],
                D("0.01"),
                D("30100"),
                "sell",
            )
            ticker = asyncio.ensure_future(ex.watch_ticker(SYMBOL))
            await server.wait_market_subscribers("btcusdt@miniTicker")
            await server.set_price("30050")
            assert D((await asyncio.wait_for(ticker, 5))["last"]) == D("30050")
            mark = asyncio.ensure_future(ex.watch_mark_price(SYMBOL))
            await server.wait_market_subscribers("btcusdt@markPrice@1s")
            await server.set_price("30060")
            assert D((await asyncio.wait_for(mark, 5))["info"]["p"]) == D("30060")

    asyncio.run(asyncio.wait_for(main(), 30))


def test_tickers_repeat_without_prints_when_configured() -> None:
    async def body(server: LocalBinanceUsdm, session: aiohttp.ClientSession) -> None:
        ws = await session.ws_connect(f"{server.ws_url}/market/ws/btcusdt@miniTicker")
        first = await asyncio.wait_for(ws.receive_json(), 5)  # no print was made
        second = await asyncio.wait_for(ws.receive_json(), 5)
        assert first["e"] == second["e"] == "24hrMiniTicker" and first["c"] == second["c"] == "30000"
        await ws.close()

    run(body, config(ticker_every_ms=50))


def test_market_streams_by_path_and_by_subscribe_request() -> None:
    async def body(server: LocalBinanceUsdm, session: aiohttp.ClientSession) -> None:
        by_path = await session.ws_connect(f"{server.ws_url}/public/ws/btcusdt@bookTicker")
        by_request = await session.ws_connect(f"{server.ws_url}/market/ws/0")
        await by_request.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@ticker"], "id": 7})
        assert await asyncio.wait_for(by_request.receive_json(), 5) == {"result": None, "id": 7}
        await by_request.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@depth"], "id": 8})
        assert (await asyncio.wait_for(by_request.receive_json(), 5))["error"]["code"] == 2
        await server.wait_market_subscribers("btcusdt@bookTicker")
        await server.set_price("30010")
        book = await asyncio.wait_for(by_path.receive_json(), 5)
        ticker = await asyncio.wait_for(by_request.receive_json(), 5)
        assert book["e"] == "bookTicker" and D(book["b"]) < D(book["a"])
        assert ticker["e"] == "24hrTicker" and ticker["c"] == "30010" and "b" not in ticker  # no bid on USDⓈ-M
        await by_path.close()
        await by_request.close()

    run(body, config())
