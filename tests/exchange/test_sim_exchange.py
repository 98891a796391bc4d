"""SimExchange end to end on the virtual clock."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
import pytest

from gridledger.exchange.port import ExchangePort
from gridledger.exchange.sim import (
    CsvCandlesPath,
    PathExhausted,
    SimConfig,
    SimExchange,
    SimMarketSpec,
    StreamFaults,
    SyntheticParams,
    Tick,
    now_ms,
    run_virtual,
)

D = Decimal
T0 = 1_700_000_000_000
SYMBOL = "BTC/USDT"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "sim"


def ticks(*prices: str, volume: str = "1", every_ms: int = 1000) -> list[Tick]:
    return [Tick(T0 + i * every_ms, D(p), D(volume)) for i, p in enumerate(prices)]


def config(path: Any, **overrides: Any) -> SimConfig:
    base: dict[str, Any] = dict(
        spec=SimMarketSpec(participation=D("0.1")),
        balances={"USDT": D("10000"), "BTC": D("1")},
        path=path,
    )
    base.update(overrides)
    return SimConfig(**base)


def strings_only(structure: Any, path: str = "") -> None:
    """Every number ccxt returns with number=str is a string (ids and times stay ints)."""
    if isinstance(structure, dict):
        for key, value in structure.items():
            if key == "info":
                continue
            strings_only(value, f"{path}.{key}")
    elif isinstance(structure, list):
        for i, value in enumerate(structure):
            strings_only(value, f"{path}[{i}]")
    else:
        assert not isinstance(structure, (float, Decimal)), (path, structure)


def test_port_is_satisfied_by_the_sim_and_by_real_ccxt() -> None:
    sim = SimExchange()
    real = ccxt.pro.binance()
    assert isinstance(sim, ExchangePort)
    assert isinstance(real, ExchangePort)
    methods = [
        name
        for name, member in inspect.getmembers(ExchangePort)
        if inspect.iscoroutinefunction(member) and not name.startswith("_")
    ]
    assert len(methods) == 12
    for name in methods:
        port_params = list(inspect.signature(getattr(ExchangePort, name)).parameters)[1:]
        for impl in (sim, real):
            impl_params = list(inspect.signature(getattr(impl, name)).parameters)
            assert impl_params[: len(port_params)] == port_params, (name, impl)
            assert inspect.iscoroutinefunction(getattr(impl, name))


def test_markets_in_ccxt_shape() -> None:
    async def main() -> dict[str, Any]:
        sim = SimExchange(config(ticks("30000")))
        markets = await sim.load_markets()
        await sim.close()
        return markets

    market = run_virtual(main(), T0)[SYMBOL]
    assert (market["id"], market["symbol"], market["base"], market["quote"]) == ("BTCUSDT", SYMBOL, "BTC", "USDT")
    assert (market["type"], market["spot"], market["contractSize"]) == ("spot", True, None)
    assert D(market["precision"]["amount"]) == D("0.00001") and D(market["precision"]["price"]) == D("0.01")
    assert D(market["limits"]["amount"]["min"]) == D("0.00001") and D(market["limits"]["cost"]["min"]) == D("5")
    assert (market["maker"], market["taker"]) == ("0.001", "0.001")
    strings_only(market)


def test_place_watch_fills_fetch_by_client_id_and_trades_from_id() -> None:
    path = ticks("30000", "29990", "29950", "29940", "29930", "29900", "29950", volume="0.05")

    async def main() -> None:
        sim = SimExchange(config(path, rest_latency_ms=40, stream_latency_ms=15))
        orders_task = asyncio.create_task(sim.watch_orders(SYMBOL))
        trades_task = asyncio.create_task(sim.watch_my_trades(SYMBOL))
        await asyncio.sleep(0)
        created = await sim.create_order(
            SYMBOL, "limit", "buy", "0.012", "29950", {"clientOrderId": "gl1a", "postOnly": True}
        )
        assert created["info"]["orderId"] == 1 and created["clientOrderId"] == "gl1a"
        assert created["status"] == "open" and created["postOnly"] is True
        strings_only(created)
        assert now_ms() == T0 + 40
        # served after 20 ms, on the stream 15 ms later: before the REST answer came back
        assert orders_task.done()
        [new] = orders_task.result()
        assert (new["status"], new["filled"], new["info"]["x"]) == ("open", "0.00000000", "NEW")
        assert (new["timestamp"], new["info"]["E"]) == (T0 + 20, T0 + 20)

        fills = list(await trades_task)
        while sum(D(t["amount"]) for t in fills) < D("0.012"):
            fills += await sim.watch_my_trades(SYMBOL)
        assert [D(t["amount"]) for t in fills] == [D("0.005"), D("0.005"), D("0.002")]
        assert all(t["takerOrMaker"] == "maker" and t["price"] == "29950.00000000" for t in fills)
        assert [t["info"]["t"] for t in fills] == [1, 2, 3]
        strings_only(fills)

        updates = await sim.watch_orders(SYMBOL)
        assert [(u["status"], u["filled"]) for u in updates] == [
            ("open", "0.00500000"),
            ("open", "0.01000000"),
            ("closed", "0.01200000"),
        ]

        by_client = await sim.fetch_order(None, SYMBOL, {"clientOrderId": "gl1a"})
        assert (by_client["id"], by_client["status"], by_client["filled"]) == ("1", "closed", "0.01200000")
        assert by_client["info"]["clientOrderId"] == "gl1a"
        assert (await sim.fetch_order("1", SYMBOL))["info"] == by_client["info"]

        all_trades = await sim.fetch_my_trades(SYMBOL)
        assert [t["id"] for t in all_trades] == ["1", "2", "3"]
        later = await sim.fetch_my_trades(SYMBOL, params={"fromId": 2})
        assert [t["id"] for t in later] == ["2", "3"] and later[0]["info"]["isMaker"] is True
        assert [t["id"] for t in await sim.fetch_my_trades(SYMBOL, params={"fromId": 3}, limit=5)] == ["3"]
        since = await sim.fetch_my_trades(SYMBOL, since=T0 + 3001)
        assert [t["id"] for t in since] == ["3"]

        balance = await sim.fetch_balance()
        assert D(balance["BTC"]["total"]) == D("1.012") - D("0.000012")
        assert D(balance["USDT"]["total"]) == D("10000") - D("0.012") * D("29950")
        assert sim.core.position() == D("1.011988")
        assert await sim.fetch_open_orders(SYMBOL) == []
        await sim.close()

    run_virtual(main(), T0)


def test_rejections_map_to_ccxt_exceptions() -> None:
    async def main() -> None:
        sim = SimExchange(config(ticks("30000", "30001"), balances={"USDT": D("100"), "BTC": D("0")}))
        with pytest.raises(ccxt.InsufficientFunds, match="-2010"):
            await sim.create_order(SYMBOL, "limit", "buy", "0.01", "29000")
        with pytest.raises(ccxt.OrderImmediatelyFillable):
            await sim.create_order(SYMBOL, "limit", "buy", "0.001", "30001", {"postOnly": True})
        with pytest.raises(ccxt.OrderImmediatelyFillable):
            await sim.create_order(SYMBOL, "LIMIT_MAKER", "buy", "0.001", "30001")
        with pytest.raises(ccxt.OrderImmediatelyFillable):
            await sim.create_order(SYMBOL, "limit", "buy", "0.001", "30001", {"timeInForce": "PO"})
        with pytest.raises(ccxt.InvalidOrder, match="NOTIONAL"):
            await sim.create_order(SYMBOL, "limit", "buy", "0.0001", "29000")
        await sim.create_order(SYMBOL, "limit", "buy", "0.001", "29000", {"clientOrderId": "dup"})
        with pytest.raises(ccxt.DuplicateOrderId):
            await sim.create_order(SYMBOL, "limit", "buy", "0.001", "28000", {"clientOrderId": "dup"})
        with pytest.raises(ccxt.OrderNotFound, match="-2011"):
            await sim.cancel_order("999", SYMBOL)
        with pytest.raises(ccxt.OrderNotFound, match="-2013"):
            await sim.fetch_order(None, SYMBOL, {"clientOrderId": "nope"})
        with pytest.raises(ccxt.BadSymbol):
            await sim.fetch_ticker("ETH/USDT")
        canceled = await sim.cancel_order(None, SYMBOL, {"clientOrderId": "dup", "newClientOrderId": "cx"})
        assert canceled["status"] == "canceled"
        assert (canceled["info"]["origClientOrderId"], canceled["info"]["clientOrderId"]) == ("dup", "cx")
        # ccxt truncates amounts to the step and rounds prices, as it does for binance
        order = await sim.create_order(SYMBOL, "limit", "buy", "0.0012345", "29000.004")
        assert (order["amount"], order["price"]) == ("0.00123000", "29000.00000000")
        await sim.close()

    run_virtual(main(), T0)


def test_create_timeout_still_places_the_order() -> None:
    async def main() -> None:
        sim = SimExchange(config(ticks("30000"), create_timeout_p=1.0, rest_latency_ms=100, request_timeout_ms=5000))
        with pytest.raises(ccxt.RequestTimeout):
            await sim.create_order(SYMBOL, "limit", "sell", "0.01", "31000", {"clientOrderId": "lost"})
        assert now_ms() == T0 + 5000
        assert sim.faults.create_timeouts == 1
        found = await sim.fetch_order(None, SYMBOL, {"clientOrderId": "lost"})
        assert (found["status"], found["info"]["time"]) == ("open", T0 + 50)
        assert [o["clientOrderId"] for o in await sim.fetch_open_orders(SYMBOL)] == ["lost"]
        # a blind retry with the same client id is refused while the order is open
        with pytest.raises(ccxt.DuplicateOrderId):
            await sim.create_order(SYMBOL, "limit", "sell", "0.01", "31000", {"clientOrderId": "lost"})
        await sim.close()

    run_virtual(main(), T0)


def test_rest_errors_have_no_effect() -> None:
    async def main() -> None:
        sim = SimExchange(config(ticks("30000"), rest_error_p=1.0))
        for call in (
            sim.fetch_balance(),
            sim.fetch_open_orders(SYMBOL),
            sim.fetch_my_trades(SYMBOL),
            sim.fetch_ticker(SYMBOL),
            sim.fetch_order("1", SYMBOL),
        ):
            with pytest.raises(ccxt.NetworkError):
                await call
        assert sim.faults.rest_errors == 5
        placed = await sim.create_order(SYMBOL, "limit", "sell", "0.01", "31000")
        assert placed["status"] == "open"
        await sim.close()

    run_virtual(main(), T0)


def test_rest_is_truthful_when_served_and_races_the_delayed_stream() -> None:
    path = ticks("30000", "29000", volume="10")

    async def main() -> None:
        sim = SimExchange(config(path, stream_latency_ms=3000, rest_latency_ms=200))
        watcher = asyncio.create_task(sim.watch_orders(SYMBOL))
        await asyncio.sleep(0)
        await sim.create_order(SYMBOL, "limit", "buy", "0.01", "29500", {"clientOrderId": "r"})
        await asyncio.sleep(1)  # the fill happened at T0 + 1000
        assert (await sim.fetch_order(None, SYMBOL, {"clientOrderId": "r"}))["status"] == "closed"
        assert not watcher.done()
        first = await watcher
        assert [u["info"]["x"] for u in first] == ["NEW"] and now_ms() == T0 + 100 + 3000
        second = await sim.watch_orders(SYMBOL)
        assert [u["status"] for u in second] == ["closed"]
        await sim.close()

    run_virtual(main(), T0)


def test_stream_disconnect_raises_in_the_pending_watch_and_replays_on_reconnect() -> None:
    faults = StreamFaults(disconnect_every=3, replay_last=2, seed=5)
    path = ticks(*["30000"] + ["29000"] * 5, volume="0.01")

    async def main() -> None:
        sim = SimExchange(config(path, stream_faults=faults))
        watcher = asyncio.create_task(sim.watch_orders(SYMBOL))
        await asyncio.sleep(0)
        await sim.create_order(SYMBOL, "limit", "buy", "0.003", "29500", {"clientOrderId": "d"})
        # deliveries 1 and 2: NEW and its account position
        assert [u["info"]["x"] for u in await watcher] == ["NEW"]
        # delivery 3, the first fill's report, drops the line while we wait
        with pytest.raises(ccxt.NetworkError):
            await sim.watch_orders(SYMBOL)
        assert (sim.faults.disconnects, now_ms()) == (1, T0 + 1000)
        assert sim.faults.dropped == 1  # that fill's account position arrived while down
        got = await sim.watch_orders(SYMBOL)
        # the fill we had not read yet, then the replay of the last two deliveries
        # (account position, which watch_orders skips, and the same fill again)
        assert [(u["info"]["x"], u["info"]["z"], u["info"]["I"]) for u in got] == [
            ("TRADE", "0.00100000", 2),
            ("TRADE", "0.00100000", 2),
        ]
        assert sim.faults.replayed == 2
        await sim.close()

    run_virtual(main(), T0)


def test_watch_ticker_returns_the_next_tick() -> None:
    async def main() -> None:
        sim = SimExchange(config(ticks("30000", "30005.5", "30001", every_ms=250)))
        ticker = await sim.watch_ticker(SYMBOL)
        assert (ticker["symbol"], ticker["last"], ticker["timestamp"]) == (SYMBOL, "30005.50000000", T0 + 250)
        assert (ticker["bid"], ticker["ask"]) == ("30005.49000000", "30005.51000000")
        assert now_ms() == T0 + 250
        assert (await sim.fetch_ticker(SYMBOL))["last"] == "30005.50000000"
        assert (await sim.watch_ticker(SYMBOL))["last"] == "30001.00000000"
        with pytest.raises(PathExhausted):
            await sim.watch_ticker(SYMBOL)
        await sim.close()

    run_virtual(main(), T0)


def test_csv_candles_drive_the_exchange_until_the_data_ends() -> None:
    start = 1700000040000

    async def main() -> tuple[int, int]:
        sim = SimExchange(config(CsvCandlesPath(FIXTURES / "btcusdt_1m_sample.csv")))
        watcher = asyncio.create_task(sim.watch_my_trades(SYMBOL))
        await asyncio.sleep(0)
        await sim.create_order(SYMBOL, "limit", "buy", "0.01", "36480", {"postOnly": True})
        await sim.create_order(SYMBOL, "limit", "sell", "0.01", "36520", {"postOnly": True})
        seen = list(await watcher)
        with pytest.raises(PathExhausted):
            while True:
                seen += await sim.watch_my_trades(SYMBOL)
        await sim.close()
        return len(seen), now_ms()

    count, end = run_virtual(main(), start)
    assert count >= 2
    assert end == start + 29 * 60_000 + 45_000  # the last candle's close tick


def _session(seed: int) -> tuple[list[Any], list[Any], dict[str, int]]:
    faults = StreamFaults(duplicate_p=0.2, reorder_window=3, disconnect_every=7, replay_last=2, seed=seed)
    cfg = config(
        SyntheticParams(
            start_price=D("30000"), tick_ms=500, volatility=3.0, mean_reversion=200.0, volume_mean=D("0.05")
        ),
        seed=seed,
        stream_faults=faults,
        rest_latency_ms=30,
        stream_latency_ms=10,
        create_timeout_p=0.2,
    )

    async def main() -> tuple[list[Any], list[Any], dict[str, int]]:
        sim = SimExchange(cfg)
        received: list[Any] = []

        async def consume() -> None:
            while True:
                try:
                    received.extend((u["info"]["i"], u["info"]["I"]) for u in await sim.watch_orders(SYMBOL))
                except ccxt.NetworkError:
                    received.append("disconnect")

        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0)
        for level in range(1, 9):
            for side, sign in (("buy", -1), ("sell", 1)):
                price = D("30000") + sign * level * D("7.5")
                with contextlib.suppress(ccxt.RequestTimeout, ccxt.InvalidOrder):
                    await sim.create_order(SYMBOL, "limit", side, "0.002", str(price), {"postOnly": True})
        await asyncio.sleep(600)
        consumer.cancel()
        events = [(e.seq, e.ts_ms, e.payload) for e in sim.core.events]
        await sim.close()
        return events, received, sim.faults.as_dict()

    return run_virtual(main(), T0)


def test_same_seed_same_session() -> None:
    started = time.monotonic()
    first = _session(seed=42)
    second = _session(seed=42)
    assert first == second
    events, received, counters = first
    assert len(events) > 20 and "disconnect" in received
    assert counters["duplicated"] and counters["reordered"] and counters["disconnects"] and counters["create_timeouts"]
    assert _session(seed=43)[0] != events
    assert time.monotonic() - started < 30


def test_path_before_the_clock_is_refused() -> None:
    async def main() -> None:
        sim = SimExchange(config(ticks("30000")))
        with pytest.raises(ValueError, match="start the virtual loop"):
            await sim.load_markets()

    run_virtual(main(), T0 + 1)


def test_a_failing_price_feed_wakes_the_watchers() -> None:
    def broken() -> Any:
        yield Tick(T0, D("30000"), D("1"))
        yield Tick(T0 + 1000, D("30001"), D("1"))
        raise OSError("data source went away")

    async def main() -> None:
        sim = SimExchange(config(broken()))
        with pytest.raises(RuntimeError, match="price feed failed"):
            await sim.watch_orders(SYMBOL)
        with pytest.raises(RuntimeError, match="price feed failed"):
            await sim.watch_ticker(SYMBOL)
        await sim.close()

    run_virtual(main(), T0)
