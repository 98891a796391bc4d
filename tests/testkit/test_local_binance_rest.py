"""ccxt.pro.binance (unmodified) against LocalBinance over real HTTP: the REST subset."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.testkit.local_binance import LocalBinance, LocalBinanceConfig, build_client
from gridledger.testkit.local_binance.testing import local_exchange

SYMBOL = "BTC/USDT"


def run(
    body: Callable[[LocalBinance, Any], Awaitable[None]], config: LocalBinanceConfig | None = None, **kw: Any
) -> None:
    async def main() -> None:
        async with local_exchange(config, **kw) as (server, exchange):
            await asyncio.wait_for(body(server, exchange), 20)

    asyncio.run(main())


def test_load_markets_gives_precision_and_limits() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        markets = await ex.load_markets()
        assert list(markets) == [SYMBOL]
        market = markets[SYMBOL]
        assert market["id"] == "BTCUSDT" and market["spot"] is True
        assert Decimal(market["precision"]["amount"]) == Decimal("0.00001")
        assert Decimal(market["precision"]["price"]) == Decimal("0.01")
        assert Decimal(market["limits"]["amount"]["min"]) == Decimal("0.00001")
        assert Decimal(market["limits"]["cost"]["min"]) == Decimal("5")
        # The query forms of exchangeInfo ccxt and others use.
        one = await ex.publicGetExchangeInfo({"symbol": "BTCUSDT"})
        listed = await ex.publicGetExchangeInfo({"symbols": json.dumps(["BTCUSDT"])})
        assert one["symbols"] == listed["symbols"] and len(one["symbols"]) == 1
        with pytest.raises(ccxt.BadSymbol):  # -1121 Invalid symbol.
            await ex.publicGetExchangeInfo({"symbol": "ETHUSDT"})
        assert "serverTime" in await ex.publicGetTime()
        assert await ex.publicGetPing() == {}

    run(body)


def test_fetch_ticker_follows_the_price() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        ticker = await ex.fetch_ticker(SYMBOL)
        assert Decimal(ticker["last"]) == Decimal("30000")
        await server.set_price("30100.5")
        ticker = await ex.fetch_ticker(SYMBOL)
        assert Decimal(ticker["last"]) == Decimal("30100.5")
        assert Decimal(ticker["high"]) == Decimal("30100.5") and Decimal(ticker["low"]) == Decimal("30000")
        assert Decimal(ticker["bid"]) < Decimal(ticker["ask"])
        book = await ex.publicGetTickerBookTicker({"symbol": "BTCUSDT"})
        assert book["symbol"] == "BTCUSDT" and Decimal(book["bidPrice"]) == Decimal("30100.49")

    run(body)


def test_post_only_order_lifecycle_by_id_and_client_id() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        order = await ex.create_order(
            SYMBOL, "limit", "buy", "0.001", "29000", {"postOnly": True, "clientOrderId": "grid-1"}
        )
        assert order["clientOrderId"] == "grid-1" and order["status"] == "open" and order["postOnly"] is True
        truth = server.core.orders_by_client_id["grid-1"]
        assert truth.post_only and truth.price == Decimal("29000") and truth.amount == Decimal("0.001")
        assert str(truth.order_id) == order["id"]

        by_id = await ex.fetch_order(order["id"], SYMBOL)
        by_cid = await ex.fetch_order(None, SYMBOL, {"clientOrderId": "grid-1"})
        assert by_id["id"] == by_cid["id"] == order["id"]
        assert by_cid["info"]["type"] == "LIMIT_MAKER"

        open_orders = await ex.fetch_open_orders(SYMBOL)
        assert [o["id"] for o in open_orders] == [order["id"]]

        canceled = await ex.cancel_order(order["id"], SYMBOL)
        assert canceled["status"] == "canceled"
        assert canceled["info"]["origClientOrderId"] == "grid-1"
        assert server.core.get_order(truth.order_id).status.value == "CANCELED"
        assert await ex.fetch_open_orders(SYMBOL) == []
        assert (await ex.fetch_order(order["id"], SYMBOL))["status"] == "canceled"

    run(body)


def test_market_order_and_response_types() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        order = await ex.create_order(SYMBOL, "market", "buy", "0.002")
        # tick_volume 1 x participation 0.1 leaves 0.1 per print: the whole 0.002 fills.
        assert order["status"] == "closed" and Decimal(order["filled"]) == Decimal("0.002")
        assert len(order["trades"]) == 1
        ack = await ex.privatePostOrder(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.001",
                "price": "20000",
                "newOrderRespType": "ACK",
                "newClientOrderId": "ack-1",
            }
        )
        assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
        result = await ex.privatePostOrder(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.001",
                "price": "20000",
                "newOrderRespType": "RESULT",
            }
        )
        assert "fills" not in result and result["status"] == "NEW"
        with pytest.raises(ccxt.BadRequest):  # IOC is not modelled: -1115 Invalid timeInForce.
            await ex.create_order(SYMBOL, "limit", "buy", "0.001", "20000", {"timeInForce": "IOC"})

    run(body)


def test_fetch_my_trades_since_from_id_and_order_id() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        start = server.core.now_ms
        ids = []
        for i, price in enumerate(("29900", "29800", "29700")):
            o = await ex.create_order(SYMBOL, "limit", "buy", "0.001", price, {"clientOrderId": f"b{i}"})
            ids.append(o["id"])
        # Three prints an hour apart (a tick from the future moves the venue clock).
        for k, price in enumerate(("29900", "29800", "29700")):
            await server.tick(Tick(start + (k + 1) * 3_600_000, Decimal(price), Decimal("1")))
        truth = server.core.trades
        assert [t.order_id for t in truth] == [int(i) for i in ids]

        everything = await ex.fetch_my_trades(SYMBOL)
        assert [t["id"] for t in everything] == [str(t.trade_id) for t in truth]
        assert everything[0]["fee"]["currency"] == "BTC" and everything[0]["takerOrMaker"] == "maker"

        since = await ex.fetch_my_trades(SYMBOL, since=truth[1].ts_ms)
        assert [t["id"] for t in since] == [str(truth[1].trade_id), str(truth[2].trade_id)]

        from_id = await ex.fetch_my_trades(SYMBOL, params={"fromId": truth[2].trade_id})
        assert [t["id"] for t in from_id] == [str(truth[2].trade_id)]
        limited = await ex.fetch_my_trades(SYMBOL, limit=2, params={"fromId": truth[0].trade_id})
        assert [t["id"] for t in limited] == [str(truth[0].trade_id), str(truth[1].trade_id)]

        by_order = await ex.fetch_my_trades(SYMBOL, params={"orderId": ids[1]})
        assert [t["order"] for t in by_order] == [ids[1]]

        until = await ex.fetch_my_trades(SYMBOL, params={"endTime": truth[1].ts_ms})
        assert [t["id"] for t in until] == [str(truth[0].trade_id), str(truth[1].trade_id)]

        with pytest.raises(ccxt.BadRequest):  # -1128: fromId with a time range is not a combination
            await ex.fetch_my_trades(SYMBOL, since=start, params={"fromId": 1})
        with pytest.raises(ccxt.ExchangeError, match="-1127"):  # more than 24 h between start and end
            await ex.fetch_my_trades(SYMBOL, since=start, params={"until": start + 2 * 86_400_000})

    run(body)


def test_fetch_balance_is_the_core_balance() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.create_order(SYMBOL, "limit", "buy", "0.01", "29000")
        balance = await ex.fetch_balance()
        usdt = server.core.balance("USDT")
        assert Decimal(balance["USDT"]["free"]) == usdt.free == Decimal("9710")
        assert Decimal(balance["USDT"]["used"]) == usdt.locked == Decimal("290")
        assert Decimal(balance["BTC"]["total"]) == Decimal("0")

    run(body)


def test_rejections_map_to_ccxt_exceptions() -> None:
    spec = SimMarketSpec(min_amount=Decimal("0.0001"))  # so LOT_SIZE can be hit above the step

    async def body(server: LocalBinance, ex: Any) -> None:
        with pytest.raises(ccxt.InsufficientFunds):  # -2010 Account has insufficient balance ...
            await ex.create_order(SYMBOL, "limit", "buy", "1", "29000")
        with pytest.raises(ccxt.OrderImmediatelyFillable):  # -2010 Order would immediately match and take.
            await ex.create_order(SYMBOL, "limit", "buy", "0.001", "30500", {"postOnly": True})
        with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):  # -1013, found by ccxt's body check
            await ex.create_order(SYMBOL, "limit", "buy", "0.00005", "29000")
        # -1013 Filter failure: NOTIONAL -> ccxt maps code -1013 to BadRequest, NOT InvalidOrder.
        with pytest.raises(ccxt.BadRequest, match="NOTIONAL") as notional:
            await ex.create_order(SYMBOL, "limit", "buy", "0.0001", "29000")
        assert not isinstance(notional.value, ccxt.InvalidOrder)
        with pytest.raises(ccxt.OrderNotFound):  # -2011 Unknown order sent.
            await ex.cancel_order("424242", SYMBOL)
        with pytest.raises(ccxt.OrderNotFound):  # -2013 Order does not exist.
            await ex.fetch_order("424242", SYMBOL)
        with pytest.raises(ccxt.OrderNotFound):
            await ex.fetch_order(None, SYMBOL, {"clientOrderId": "nope"})
        await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000", {"clientOrderId": "dup"})
        # -2010 Duplicate order sent. -> ccxt: InvalidOrder (by code), NOT DuplicateOrderId.
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent") as dup:
            await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000", {"clientOrderId": "dup"})
        assert not isinstance(dup.value, ccxt.DuplicateOrderId)
        assert len(server.core.orders) == 1

    run(body, LocalBinanceConfig(spec=spec))


def test_wrong_secret_and_wrong_key_are_authentication_errors() -> None:
    async def main() -> None:
        async with LocalBinance() as server:
            bad_secret = build_client(server, secret="not-the-secret")
            bad_key = build_client(server, api_key="not-the-key")
            try:
                with pytest.raises(ccxt.AuthenticationError, match="-1022"):
                    await bad_secret.fetch_balance()
                # The WebSocket API answers the subscription with the same -1022, but ccxt
                # 4.5.90 then raises a bare KeyError('spot') (its error handler and
                # ensure_user_data_stream_ws_subscribe_signature both delete the subscription);
                # the AuthenticationError is only the KeyError's context.
                with pytest.raises(KeyError) as ws_error:
                    await asyncio.wait_for(bad_secret.watch_orders(), 5)
                assert isinstance(ws_error.value.__context__, ccxt.AuthenticationError)
                assert "-1022" in str(ws_error.value.__context__)
                with pytest.raises(ccxt.AuthenticationError, match="-2015"):
                    await bad_key.fetch_open_orders(SYMBOL)
                assert server.core.orders == {}
            finally:
                await bad_secret.close()
                await bad_key.close()

    asyncio.run(main())


def test_timestamp_outside_recv_window_is_invalid_nonce() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        ex.options["timeDifference"] = 60_000  # ccxt signs with a clock one minute behind
        with pytest.raises(ccxt.InvalidNonce, match="-1021"):
            await ex.fetch_balance()

    run(body)


def test_raw_signed_request_follows_binance_rules() -> None:
    """A hand-made request: 401 and Binance's exact body for a bad signature."""
    import aiohttp

    async def main() -> None:
        async with LocalBinance() as server, aiohttp.ClientSession() as session:
            url = f"{server.http_url}/api/v3/account?timestamp=1&signature=00"
            async with session.get(url, headers={"X-MBX-APIKEY": server.config.api_key}) as resp:
                assert resp.status == 401
                assert await resp.json() == {"code": -1022, "msg": "Signature for this request is not valid."}
            async with session.get(f"{server.http_url}/sapi/v1/capital/config/getall") as resp:
                assert resp.status == 404 and (await resp.json())["code"] == -1

    asyncio.run(main())


def test_unimplemented_endpoints_fail_loudly() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        with pytest.raises(ccxt.ExchangeError, match="does not implement GET /sapi/v1/capital/config/getall"):
            await ex.sapiGetCapitalConfigGetall()

    run(body)


def test_create_answered_late_is_a_request_timeout_but_the_order_exists() -> None:
    async def body(server: LocalBinance, ex: Any) -> None:
        await ex.load_markets()
        server.arm_create_delay(5_000)
        with pytest.raises(ccxt.RequestTimeout):
            await ex.create_order(SYMBOL, "limit", "buy", "0.001", "29000", {"clientOrderId": "late-1"})
        assert server.core.orders_by_client_id["late-1"].status.value == "NEW"
        assert server.counters()["create_timeouts"] == 1
        found = await ex.fetch_order(None, SYMBOL, {"clientOrderId": "late-1"})
        assert found["status"] == "open"

    run(body, timeout_ms=300)
