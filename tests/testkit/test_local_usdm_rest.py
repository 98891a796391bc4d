"""ccxt.pro.binanceusdm (unmodified) against LocalBinanceUsdm over real HTTP: the fapi REST subset."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal as D
from typing import Any

import aiohttp
import ccxt
import pytest

from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.testkit.local_binance_usdm import LocalBinanceUsdm, LocalBinanceUsdmConfig
from gridledger.testkit.local_binance_usdm.testing import signed_query, usdm_exchange

SYMBOL = "BTC/USDT:USDT"
SPEC = PerpMarketSpec(
    participation=D("1"), amount_step=D("0.001"), min_amount=D("0.001"), price_step=D("0.1"), min_notional=D("5")
)


def config(**kw: Any) -> LocalBinanceUsdmConfig:
    return LocalBinanceUsdmConfig(spec=SPEC, auto_funding=False, **kw)


def run(
    body: Callable[[LocalBinanceUsdm, Any], Awaitable[None]], cfg: LocalBinanceUsdmConfig | None = None, **kw: Any
) -> None:
    async def main() -> None:
        async with usdm_exchange(cfg or config(), timeout_ms=2000, **kw) as (server, exchange):
            await asyncio.wait_for(body(server, exchange), 30)

    asyncio.run(main())


async def raw(
    server: LocalBinanceUsdm, method: str, path: str, query: str = "", key: str | None = None
) -> tuple[int, Any]:
    headers = {"X-MBX-APIKEY": key if key is not None else server.config.api_key}
    url = f"{server.http_url}{path}" + (f"?{query}" if query else "")
    async with aiohttp.ClientSession() as session, session.request(method, url, headers=headers) as resp:
        text = await resp.text()
        try:
            import json

            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text


def test_load_markets_gives_a_linear_perpetual_with_precision_and_limits() -> None:
    async def body(server: LocalBinanceUsdm, ex: Any) -> None:
        markets = await ex.load_markets()
        assert list(markets) == [SYMBOL]
        m = markets[SYMBOL]
        assert m["id"] == "BTCUSDT" and m["swap"] and m["linear"] and m["settle"] == "USDT"
        assert D(m["precision"]["amount"]) == D("0.001") and D(m["precision"]["price"]) == D("0.1")
        assert D(m["limits"]["cost"]["min"]) == D("5") and D(m["limits"]["amount"]["min"]) == D("0.001")
        assert D((await ex.fetch_ticker(SYMBOL))["last"]) == D("30000")
        await server.set_price("30100.5")
        assert D((await ex.fetch_ticker(SYMBOL))["last"]) == D("30100.5")
        index = await ex.fapiPublicGetPremiumIndex({"symbol": "BTCUSDT"})
        assert D(index["markPrice"]) == D("30100.5")
        assert "serverTime" in await ex.fapiPublicGetTime()

    run(body)


def test_signed_requests_are_checked_like_binance() -> None:
    async def main() -> None:
        async with LocalBinanceUsdm(config()) as server:
            secret = server.config.secret
            ok, body = await raw(server, "GET", "/fapi/v3/balance", signed_query({}, secret))
            assert ok == 200 and body[0]["asset"] == "USDT" and D(body[0]["balance"]) == D("10000")
            status, body = await raw(server, "GET", "/fapi/v3/balance", signed_query({}, "wrong-secret"))
            assert (status, body["code"]) == (401, -1022)
            status, body = await raw(server, "GET", "/fapi/v3/balance", signed_query({}, secret), key="other")
            assert (status, body["code"]) == (401, -2015)
            stale = signed_query({}, secret, timestamp_ms=server.venue.now_ms() - 60_000)
            status, body = await raw(server, "GET", "/fapi/v3/balance", stale)
            assert (status, body["code"]) == (400, -1021)
            status, body = await raw(server, "GET", "/fapi/v1/nothing")
            assert status == 404 and "/fapi/v1/nothing" in body["msg"]
            # Listen keys need the API key only, no signature.
            status, body = await raw(server, "POST", "/fapi/v1/listenKey", key="other")
            assert (status, body["code"]) == (401, -2015)

    asyncio.run(main())


def test_wrong_credentials_through_ccxt_are_an_authentication_error() -> None:
    async def body(server: LocalBinanceUsdm, ex: Any) -> None:
        with pytest.raises(ccxt.AuthenticationError):
            await ex.fetch_balance()

    run(body, secret="not-the-secret")


def test_order_lifecycle_post_only_reduce_only_and_refusals() -> None:
    async def body(server: LocalBinanceUsdm, ex: Any) -> None:
        order = await ex.create_order(
            SYMBOL, "limit", "buy", "0.01", "29900", {"postOnly": True, "clientOrderId": "g1"}
        )
        assert order["clientOrderId"] == "g1" and order["status"] == "open" and order["postOnly"] is True
        truth = server.core.orders_by_client_id["g1"]
        assert truth.post_only and str(truth.order_id) == order["id"]
        assert (await ex.fetch_order(None, SYMBOL, {"clientOrderId": "g1"}))["id"] == order["id"]
        # GTX that would take: -5022, nothing recorded.
        with pytest.raises(ccxt.InvalidOrder, match="-5022"):
            await ex.create_order(SYMBOL, "limit", "buy", "0.01", "30000", {"postOnly": True, "clientOrderId": "g2"})
        assert "g2" not in server.core.orders_by_client_id
        # Reduce-only with no position: -2022.
        with pytest.raises(ccxt.ExchangeError, match="-2022"):
            await ex.create_order(SYMBOL, "limit", "sell", "0.01", "30100", {"reduceOnly": True})
        # Same client id while the first is open: -4116.
        with pytest.raises(ccxt.ExchangeError, match="-4116"):
            await ex.create_order(SYMBOL, "limit", "buy", "0.01", "29800", {"clientOrderId": "g1"})
        # Conditional orders moved to the algo endpoints on Binance: -4120 on /fapi/v1/order;
        # ccxt sends them to /fapi/v1/algoOrder, which the server does not serve (loudly).
        stop = {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET", "quantity": "0.01", "stopPrice": "29000"}
        with pytest.raises(ccxt.ExchangeError, match="-4120"):
            await ex.fapiPrivatePostOrder(stop)
        with pytest.raises(ccxt.ExchangeError, match="does not implement POST /fapi/v1/algoOrder"):
            await ex.create_order(SYMBOL, "market", "sell", "0.01", None, {"stopLossPrice": "29000"})
        # Below the minimum notional: -4164.
        with pytest.raises(ccxt.ExchangeError, match="-4164"):
            await ex.create_order(SYMBOL, "limit", "buy", "0.001", "1000")
        await server.set_price("29900")
        assert server.core.position_amt == D("0.01")
        close = await ex.create_order(
            SYMBOL, "limit", "sell", "0.01", "30000", {"reduceOnly": True, "clientOrderId": "c1"}
        )
        assert close["reduceOnly"] is True and close["status"] == "open"
        assert len(await ex.fetch_open_orders(SYMBOL)) == 1
        canceled = await ex.cancel_order(close["id"], SYMBOL)
        assert canceled["status"] == "canceled"
        with pytest.raises(ccxt.OrderNotFound):
            await ex.fetch_order(None, SYMBOL, {"clientOrderId": "never"})
        # An IOC order takes what the print's budget allows (one print of volume 1); the rest expires.
        ioc = await ex.create_order(SYMBOL, "limit", "sell", "2", "29000", {"timeInForce": "IOC"})
        assert ioc["status"] == "expired" and D(ioc["filled"]) == D("1")
        assert server.core.position_amt == D("0.01") - D("1")

    run(body)


def test_positions_balance_trades_and_income_follow_the_fills() -> None:
    async def body(server: LocalBinanceUsdm, ex: Any) -> None:
        assert await ex.fetch_positions([SYMBOL]) == []  # v3 lists a symbol with a position or orders
        await ex.create_order(SYMBOL, "limit", "sell", "0.01", "30100", {"postOnly": True})
        await server.set_price("30100")
        (pos,) = await ex.fetch_positions([SYMBOL])
        assert pos["side"] == "short" and D(pos["contracts"]) == D("0.01") and D(pos["entryPrice"]) == D("30100")
        await ex.create_order(SYMBOL, "limit", "buy", "0.01", "30000", {"reduceOnly": True, "postOnly": True})
        await server.set_price("30000")
        assert server.core.position_amt == 0
        trades = await ex.fetch_my_trades(SYMBOL)
        assert [(t["side"], D(t["price"])) for t in trades] == [("sell", D("30100")), ("buy", D("30000"))]
        rows = await ex.fapiPrivateGetUserTrades({"symbol": "BTCUSDT"})
        assert D(rows[1]["realizedPnl"]) == D("1")  # 0.01 x 100
        fees = sum(D(t["fee"]["cost"]) for t in trades)
        balance = await ex.fetch_balance()
        assert D(balance["info"]["totalWalletBalance"]) == D("10000") + D("1") - fees == server.core.cash
        payment = await server.settle_funding("0.001")
        assert payment is None  # flat: nothing is paid
        await ex.create_order(SYMBOL, "market", "buy", "0.01")
        payment = await server.settle_funding("0.001")
        assert payment is not None and payment.amount == D("-0.30000000")  # longs pay at a positive rate
        history = await ex.fetch_funding_history(SYMBOL)
        assert [(h["id"], D(h["amount"])) for h in history] == [(str(payment.tran_id), D("-0.3"))]
        income = await ex.fapiPrivateGetIncome({})
        kinds = [r["incomeType"] for r in income]
        assert kinds.count("FUNDING_FEE") == 1 and kinds.count("COMMISSION") == 3 and kinds.count("REALIZED_PNL") == 1
        assert len({r["tranId"] for r in income}) == len(income)

    run(body)


def test_leverage_margin_mode_and_position_mode_are_set_and_read_back() -> None:
    async def body(server: LocalBinanceUsdm, ex: Any) -> None:
        await ex.load_markets()
        assert (await ex.set_leverage(7, SYMBOL))["leverage"] == 7
        assert (await ex.fetch_leverage(SYMBOL))["longLeverage"] == 7
        with pytest.raises(ccxt.MarginModeAlreadySet):
            await ex.set_margin_mode("cross", SYMBOL)
        await ex.set_margin_mode("isolated", SYMBOL)
        assert (await ex.fetch_margin_mode(SYMBOL))["marginMode"] == "isolated"
        assert (await ex.fetch_position_mode(SYMBOL))["hedged"] is False
        await ex.set_position_mode(True, SYMBOL)
        with pytest.raises(ccxt.ExchangeError, match="-4061"):  # one-way order in hedge mode
            await ex.create_order(SYMBOL, "limit", "buy", "0.01", "29000")
        await ex.set_position_mode(False, SYMBOL)
        await ex.create_order(SYMBOL, "limit", "buy", "0.01", "29000")
        with pytest.raises(ccxt.ExchangeError, match="-4047"):  # open orders: no margin change
            await ex.set_margin_mode("cross", SYMBOL)
        with pytest.raises(ccxt.ExchangeError, match="-2019"):  # 7x of 10000 USDT is far below this
            await ex.create_order(SYMBOL, "limit", "buy", "5", "29000")

    run(body)


def test_rest_faults_late_creates_gateway_errors_and_dropped_queries() -> None:
    async def body(server: LocalBinanceUsdm, ex: Any) -> None:
        await ex.load_markets()
        server.arm_create_delay(3000)  # longer than the client's 2 s timeout
        with pytest.raises(ccxt.RequestTimeout):
            await ex.create_order(SYMBOL, "limit", "buy", "0.01", "29000", {"clientOrderId": "late1"})
        assert "late1" in server.core.orders_by_client_id  # placed although the answer was lost
        assert server.counters()["create_timeouts"] == 1
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch_open_orders(SYMBOL)  # http_status_faults: 503 on this path
        assert server.core.open_orders()  # the failed query changed nothing

    run(body, config(http_status_faults={"/fapi/v1/openOrders": 503}))

    async def flaky(server: LocalBinanceUsdm, ex: Any) -> None:
        await ex.load_markets()
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch_balance()
        assert server.counters()["rest_errors"] == 1

    run(flaky, config(rest_error_p=1.0))
