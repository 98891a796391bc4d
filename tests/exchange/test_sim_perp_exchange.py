"""PerpSimExchange: ccxt binanceusdm's structures and exceptions for the simulated perpetual,
its USDⓈ-M payloads readable by gridledger's own parser, and the spot venue's fault injection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from gridledger.domain.instrument import Instrument
from gridledger.exchange.sim.clock import run_virtual
from gridledger.exchange.sim.faults import StreamFaults
from gridledger.exchange.sim.perp_exchange import PerpSimExchange
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.venue_config import SimConfig
from gridledger.ledger.evidence import OrderEvidence, TradeEvidence
from gridledger.venues import parse_message
from gridledger.venues.registry import venue_for_exchange

D = Decimal
SYM = "BTC/USDT:USDT"
H8 = 8 * 3_600_000


def _ticks(prices: list[str], step_ms: int = 1000) -> list[Tick]:
    return [Tick(i * step_ms, D(p), D("5")) for i, p in enumerate(prices)]


def run(body: Callable[[PerpSimExchange], Awaitable[Any]], ticks: list[Tick], **config: Any) -> Any:
    spec = config.pop("spec", PerpMarketSpec(participation=D(1)))
    cfg = SimConfig(spec=spec, path=ticks, balances={"USDT": D("1000")}, **config)

    async def main() -> Any:
        ex = PerpSimExchange(cfg)
        try:
            await ex.load_markets()
            return await body(ex)
        finally:
            await ex.close()

    return run_virtual(main(), start_ms=0)


def test_the_market_is_ccxts_linear_perpetual() -> None:
    async def body(ex: PerpSimExchange) -> dict[str, Any]:
        return ex.markets[SYM]

    market = run(body, _ticks(["30000"]))
    assert market["id"] == "BTCUSDT" and market["linear"] and market["swap"] and market["settle"] == "USDT"
    assert market["contractSize"] == "1"
    assert venue_for_exchange("simusdm") is not None and venue_for_exchange("simusdm").name == "binance-usdm"  # type: ignore[union-attr]


def test_orders_positions_balance_and_trades_are_ccxt_structures() -> None:
    async def body(ex: PerpSimExchange) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["order"] = await ex.create_order(
            SYM, "limit", "sell", "0.01", "30100", {"clientOrderId": "s1", "postOnly": True}
        )
        await asyncio.sleep(1.5)
        out["positions"] = await ex.fetch_positions([SYM])
        out["balance"] = await ex.fetch_balance()
        out["close"] = await ex.create_order(SYM, "limit", "buy", "0.01", "29900", {"reduceOnly": True})
        await asyncio.sleep(2)
        out["trades"] = await ex.fetch_my_trades(SYM)
        out["after"] = await ex.fetch_positions([SYM])
        return out

    out = run(body, _ticks(["30000", "30150", "30000", "29850"]))
    order = out["order"]
    assert (order["symbol"], order["clientOrderId"], order["status"], order["postOnly"]) == (SYM, "s1", "open", True)
    assert order["info"]["timeInForce"] == "GTX"
    (pos,) = out["positions"]
    assert (pos["side"], pos["contracts"], pos["entryPrice"], pos["marginMode"]) == ("short", "0.01", "30100", "cross")
    assert out["balance"]["USDT"]["total"] is not None
    assert out["close"]["reduceOnly"] is True
    assert [t["side"] for t in out["trades"]] == ["sell", "buy"]
    assert out["trades"][1]["info"]["realizedPnl"] == "2.00000000"
    assert out["after"] == []  # ccxt lists open positions only


@pytest.mark.parametrize(
    ("params", "amount", "price", "error"),
    [
        ({"reduceOnly": True}, "0.01", "29000", ccxt.InvalidOrder),  # -2022: nothing to reduce
        ({}, "1", "29000", ccxt.InsufficientFunds),  # -2019 at leverage 10 on 1000 USDT
        ({"postOnly": True}, "0.01", "31000", ccxt.InvalidOrder),  # -5022 would take
        ({}, "0.0001", "29000", ccxt.InvalidOrder),  # -4164 below the minimum notional
    ],
)
def test_refusals_are_the_exceptions_ccxt_raises_for_them(
    params: dict[str, Any], amount: str, price: str, error: type[Exception]
) -> None:
    async def body(ex: PerpSimExchange) -> Exception:
        with pytest.raises(error) as exc:
            await ex.create_order(SYM, "limit", "buy", amount, price, params)
        return exc.value

    exc = run(body, _ticks(["30000", "30000"]))
    assert str(exc).startswith("binanceusdm {")


def test_settings_as_ccxt_returns_them() -> None:
    async def body(ex: PerpSimExchange) -> dict[str, Any]:
        out: dict[str, Any] = {"leverage": await ex.set_leverage(7, SYM)}
        with pytest.raises(ccxt.MarginModeAlreadySet):
            await ex.set_margin_mode("cross", SYM)
        out["isolated"] = await ex.set_margin_mode("isolated", SYM)
        out["mode"] = await ex.fetch_margin_mode(SYM)
        out["lev"] = await ex.fetch_leverage(SYM)
        with pytest.raises(ccxt.OperationRejected):  # what ccxt raises for -4059 (already one-way)
            await ex.set_position_mode(False)
        out["position_mode"] = await ex.fetch_position_mode()
        with pytest.raises(ccxt.BadRequest):
            await ex.set_leverage(126, SYM)
        return out

    out = run(body, _ticks(["30000"]))
    assert out["leverage"] == {"leverage": 7, "maxNotionalValue": "1000000000", "symbol": "BTCUSDT"}
    assert out["isolated"] == {"code": 200, "msg": "success"}
    assert out["mode"]["marginMode"] == "isolated"
    assert out["lev"]["longLeverage"] == 7
    assert out["position_mode"]["hedged"] is False


def test_funding_history_lists_each_payment_with_its_id() -> None:
    async def body(ex: PerpSimExchange) -> list[dict[str, Any]]:
        await ex.create_order(SYM, "limit", "buy", "0.1", "29900", {"postOnly": True})
        await asyncio.sleep(H8 * 2 / 1000 + 10)
        return await ex.fetch_funding_history(SYM, since=0)

    ticks = [Tick(0, D("30000"), D(5)), Tick(1000, D("29900"), D(5))]
    ticks += [Tick(t, D("30000"), D(5)) for t in range(3_600_000, 2 * H8 + 60_000, 3_600_000)]
    rows = run(body, ticks)
    assert [(r["id"], r["timestamp"], r["amount"]) for r in rows] == [
        ("1", H8, "-0.30000000"),
        ("2", 2 * H8, "-0.30000000"),
    ]
    assert rows[0]["info"]["incomeType"] == "FUNDING_FEE"


def test_stream_updates_are_ccxt_ws_structures_and_gridledgers_usdm_parser_reads_their_info() -> None:
    async def body(ex: PerpSimExchange) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        first = asyncio.ensure_future(ex.watch_orders(SYM))  # subscribes: later events arrive
        await asyncio.sleep(0)
        await ex.create_order(SYM, "limit", "buy", "0.01", "29900", {"clientOrderId": "b1", "postOnly": True})
        orders = await first
        await asyncio.sleep(2)
        orders += await ex.watch_orders(SYM)
        trades = await ex.watch_my_trades(SYM)
        return orders, trades

    async def first_watch(ex: PerpSimExchange) -> Any:
        return await body(ex)

    orders, trades = run(first_watch, _ticks(["30000", "30000", "29800", "29800", "29800", "29800"]))
    assert [o["status"] for o in orders] == ["open", "closed"]
    assert trades[0]["fee"] == {"currency": "USDT", "cost": "0.29900000"}
    inst = Instrument.from_symbol(SYM)
    parsed = parse_message(orders[-1]["info"], "binance-usdm", inst, source="test")
    kinds = [type(item) for item in parsed.items]
    assert kinds == [TradeEvidence, OrderEvidence]
    trade = parsed.items[0]
    assert isinstance(trade, TradeEvidence) and trade.amount == D("0.01") and trade.price == D("29900")


def test_stream_faults_apply_as_on_spot() -> None:
    async def body(ex: PerpSimExchange) -> int:
        first = asyncio.ensure_future(ex.watch_orders(SYM))
        await asyncio.sleep(0)
        for i in range(5):
            await ex.create_order(SYM, "limit", "buy", "0.01", str(29000 + i), {"clientOrderId": f"b{i}"})
        seen = await first
        await asyncio.sleep(1)
        while True:
            try:
                seen += await asyncio.wait_for(ex.watch_orders(SYM), 1)
            except TimeoutError:
                return len(seen)

    count = run(body, _ticks(["30000"] * 20), stream_faults=StreamFaults(duplicate_p=1.0, seed=1))
    assert count == 10  # every NEW update twice
