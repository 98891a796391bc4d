"""The simulated venue's direct ticker equals ccxt's parse of the Binance event (issue 12 item 5).

``TickerBuilder.build`` skips formatting the ``24hrTicker`` event and parsing it back with
ccxt.pro; the engine must see the very same dict. Compared on price paths (a day of prints
through the rolling window, several markets and tick sizes) and on arbitrary statistics.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.exchange.sim import binance_market as bm
from gridledger.exchange.sim.binance_format import fmt8
from gridledger.exchange.sim.clock import run_virtual
from gridledger.exchange.sim.exchange import SimExchange
from gridledger.exchange.sim.prices import SyntheticPath, Tick
from gridledger.exchange.sim.print_window import PrintWindow
from gridledger.exchange.sim.ticker_fast import TickerBuilder, _f8
from gridledger.exchange.sim.values import SimMarketSpec, TickerStats
from gridledger.exchange.sim.venue_config import SimConfig, SyntheticParams
from gridledger.exchange.sim.venue_runtime import _make_parser


def _builder(spec: SimMarketSpec) -> TickerBuilder:
    parser = _make_parser(spec)
    return TickerBuilder(parser, parser.markets[spec.symbol])


def _same(builder: TickerBuilder, stats: TickerStats) -> None:
    fast = builder.build(stats)
    slow = builder.slow(stats)
    assert fast == slow
    assert list(fast) == list(slow)  # same keys in the same order
    assert list(fast["info"]) == list(slow["info"])
    for key, value in slow.items():
        assert type(fast[key]) is type(value), key


@pytest.mark.parametrize(
    ("spec", "start", "volume"),
    [
        (SimMarketSpec(), Decimal("30000"), Decimal("0.3")),
        (SimMarketSpec(price_step=Decimal("0.00001")), Decimal("0.02"), Decimal("1000")),
        (SimMarketSpec(price_step=Decimal("1")), Decimal("5"), Decimal("0.0001")),
    ],
)
def test_fast_ticker_equals_format_and_parse_along_a_path(spec: SimMarketSpec, start: Decimal, volume: Decimal) -> None:
    builder = _builder(spec)
    assert builder.fast
    window = PrintWindow()
    path = SyntheticPath(
        seed=5, start_price=start, price_step=spec.price_step, tick_ms=60_000, volatility=3.0, volume_mean=volume
    )
    # 1.5 simulated days of one-minute prints: the 24 h window fills, then rolls.
    for tick in islice(path, 2_200):
        window.record(tick)
        _same(builder, window.stats(spec, tick, tick.ts_ms + 7))


def test_flat_market_zero_change_and_a_zero_volume_print() -> None:
    spec = SimMarketSpec()
    builder = _builder(spec)
    window = PrintWindow()
    for i, (price, volume) in enumerate([("100", "0"), ("100", "0"), ("100.01", "0"), ("100", "2")]):
        tick = Tick(1_000 * i, Decimal(price), Decimal(volume))
        window.record(tick)
        _same(builder, window.stats(spec, tick, tick.ts_ms))


_price = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=8)
_any = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=12)
_qty = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=10)


@settings(max_examples=300, deadline=None)
@given(
    last=_price,
    open_=_price,
    high=_price,
    low=_price,
    prev=_any,
    bid=_any,
    ask=_price,
    volume=_qty,
    quote=_qty,
    qty=_qty,
    close_time=st.integers(min_value=0, max_value=4_102_444_800_000),
)
def test_fast_ticker_equals_format_and_parse_on_any_statistics(
    last: Decimal,
    open_: Decimal,
    high: Decimal,
    low: Decimal,
    prev: Decimal,
    bid: Decimal,
    ask: Decimal,
    volume: Decimal,
    quote: Decimal,
    qty: Decimal,
    close_time: int,
) -> None:
    stats = TickerStats(
        symbol="BTCUSDT",
        last=last,
        last_qty=qty,
        open=open_,
        high=high,
        low=low,
        prev_close=prev,
        volume=volume,
        quote_volume=quote,
        open_time=max(0, close_time - 86_400_000),
        close_time=close_time,
        first_id=1,
        last_id=9,
        count=9,
        bid=bid,
        ask=ask,
        bid_qty=qty,
        ask_qty=qty,
        event_ms=close_time + 1,
    )
    _same(_builder(SimMarketSpec()), stats)


def test_the_engine_sees_the_parsed_ticker_of_every_tick() -> None:
    """Through the venue's own watch_ticker: each tick's dict equals the format + parse one."""
    config = SimConfig(path=SyntheticParams(start_price=Decimal("30000"), tick_ms=1_000, volatility=2.0))
    seen: list[tuple[dict[str, object], dict[str, object]]] = []

    parses: list[int] = []

    async def main() -> None:
        ex = SimExchange(config)
        parse = ex._parser.parse_ws_ticker

        def counting(message: dict[str, object], market_type: str) -> dict[str, object]:
            parses.append(1)
            return dict(parse(message, market_type))

        ex._parser.parse_ws_ticker = counting
        await ex.start()
        for _ in range(300):
            ticker = await ex.watch_ticker("BTC/USDT")
            reference = parse(bm.ws_ticker_24hr(ex.core.ticker_stats()), "spot")
            seen.append((ticker, dict(reference)))
        await ex.close()

    run_virtual(main(), start_ms=config.start_ms)
    assert parses == []  # the venue never formatted and re-parsed its own ticker
    assert len(seen) == 300
    assert len({t["last"] for t, _ in seen}) > 10  # the price moved
    for got, want in seen:
        assert got == want


def test_a_zero_price_goes_through_format_and_parse() -> None:
    builder = _builder(SimMarketSpec())
    stats = TickerStats("BTCUSDT", *(Decimal(0),) * 8, 0, 0, 1, 1, 1, *(Decimal(0),) * 4, 0)
    assert builder.build(stats) == builder.slow(stats)


@pytest.mark.parametrize("price", ["0.00000001", "0.004", "0.005", "0.0099", "1E+3", "30000.000000001", "7.123456789"])
def test_average_and_rendering_of_small_large_and_long_prices(price: str) -> None:
    value = Decimal(price)
    step = Decimal("0.01")
    stats = TickerStats(
        "BTCUSDT", value, Decimal("0.5"), value, value, value, value, Decimal("1"), value,
        0, 60_000, 1, 1, 1, value + step, value + step, Decimal("0.5"), Decimal("0.5"), 60_001,
    )  # fmt: skip
    _same(_builder(SimMarketSpec()), stats)


@settings(max_examples=500, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e15"), max_value=Decimal("1e15")))
def test_eight_decimal_rendering_equals_fmt8(value: Decimal) -> None:
    assert _f8(value) == fmt8(value)
