"""The backtest loop (issue 9 item 2): intra-candle path, fill rule, skipping, exact books."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.backtest.run import Backtest
from gridledger.backtest.setup import setup_from_config
from gridledger.config import parse_config
from gridledger.domain.types import Role, Side
from gridledger.ledger.report import ledger_state
from gridledger.marketdata import load_market_data
from gridledger.marketdata.series import MarketData
from gridledger.strategy import Place
from gridledger.testkit.candles import generate_candles

STEP = Decimal("0.01")
T0 = 1_767_225_600_000


def config(grid: dict | None = None, strategy: dict | None = None, paper: dict | None = None):
    data = {
        "grid": {"id": "bt1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100", **(grid or {})},
        "strategy": {"buy_window": 1, "quote_per_level": "150", **(strategy or {})},
        "paper": {"balances": {"USDT": "10000", "BTC": "0"}, **(paper or {})},
    }
    return parse_config(data)


def candles(rows: list[tuple[str, str, str, str]], interval_ms: int = 60_000) -> MarketData:
    ticks = np.array([[int(Decimal(x) / STEP) for x in r] for r in rows], dtype=np.int64)
    n = len(rows)
    return MarketData(
        "candles",
        "test",
        "ohlcv",
        STEP,
        T0 + interval_ms * np.arange(n, dtype=np.int64),
        ticks[:, 0],
        ticks[:, 1],
        ticks[:, 2],
        ticks[:, 3],
        np.ones(n),
        interval_ms,
    )


def generated(n: int, seed: int, volatility: float = 0.8, kind: str = "candles") -> MarketData:
    c = generate_candles(n, seed=seed, volatility=volatility, mean_reversion=50.0)
    if kind == "trades":
        p = c["close"]
        return MarketData("trades", "gen", "trades", STEP, c["ts_ms"], p, p, p, p, c["volume"], 0)
    return MarketData(
        "candles", "gen", "ohlcv", STEP, c["ts_ms"], c["open"], c["high"], c["low"], c["close"], c["volume"], 60_000
    )


def run(cfg, data: MarketData, skip: bool = True) -> Backtest:
    return Backtest(setup_from_config(cfg), data, skip=skip).run()


FLAT = ("30050", "30050", "30050", "30050")


def test_an_up_candle_dips_first_then_rallies_o_l_h_c():
    # Centre 0 at 30050: one buy at level -1 (29900). The up candle's low fills it, then its high
    # (30060) reaches the closing sell at 30000: a round trip inside one candle.
    bt = run(config(), candles([FLAT, ("30050", "30060", "29890", "30055"), FLAT]))
    assert [(f.side, f.level, f.price, f.ts_ms - T0) for f in bt.fills] == [
        (Side.BUY, -1, Decimal("29900.00"), 60_000 + 15_000),  # the low: second price, a quarter in
        (Side.SELL, -1, Decimal("30000.00"), 60_000 + 30_000),  # the high: third price
    ]
    assert bt.ledger.slots[-1].state.round_trips == 1


def test_a_down_candle_rallies_first_then_dips_o_h_l_c():
    # Same range, closing below its open: the high comes before the buy exists, so no round trip.
    bt = run(config(), candles([FLAT, ("30055", "30060", "29890", "29950"), ("29950",) * 4]))
    assert [(f.side, f.ts_ms - T0) for f in bt.fills] == [(Side.BUY, 60_000 + 30_000)]
    assert bt.ledger.slots[-1].state.round_trips == 0 and bt.ledger.position > 0


def test_a_doji_is_played_as_an_up_candle():
    bt = run(config(), candles([FLAT, ("30050", "30060", "29890", "30050"), FLAT]))
    assert [f.side for f in bt.fills] == [Side.BUY, Side.SELL]


def test_a_limit_fills_when_the_path_reaches_it_not_before():
    just_above = run(config(), candles([FLAT, ("30050", "30050", "29900.01", "29950"), FLAT]))
    assert just_above.fills == []
    touch = run(config(), candles([FLAT, ("30050", "30050", "29900", "29950"), ("29950",) * 4]))
    assert [(f.side, f.price, f.maker) for f in touch.fills] == [(Side.BUY, Decimal("29900.00"), True)]


def test_the_last_price_only_fills_no_order_is_placed_after_it():
    every = run(config(), candles([FLAT, FLAT]), skip=False)
    assert every.counters.decisions == 7  # 4 + 3 prices: the very last one does not decide
    assert run(config(), candles([FLAT, FLAT])).counters.decisions == 1  # nothing happens after the first
    prices = np.array([3_005_000, 3_004_000, 2_989_000], dtype=np.int64)  # trades: the last one fills the buy
    last = run(
        config(),
        MarketData(
            "trades",
            "t",
            "trades",
            STEP,
            T0 + np.arange(3, dtype=np.int64),
            prices,
            prices,
            prices,
            prices,
            np.ones(3),
            0,
        ),
    )
    assert [f.side for f in last.fills] == [Side.BUY]
    assert ledger_state(last.ledger)["live_orders"] == []  # the buy filled at the end: no sell placed after it


def test_post_only_orders_that_would_cross_are_refused_and_others_take_at_the_last_price():
    bt = run(config(), candles([FLAT, FLAT]))
    p = int(Decimal("30050") / STEP)
    live, gen = len(bt.live), bt.ledger.slots[-1].next_gen
    bt._place(Place(-1, Side.BUY, Role.OPEN, Decimal("30100"), Decimal("0.001"), True), p, Decimal("30050"), T0)
    assert bt.counters.refused_post_only == 1 and bt.state.rejects(-1) == 1
    # As the engine: the attempt used a generation (R7) and was closed by the refusal (R6).
    assert len(bt.live) == live and bt.ledger.slots[-1].next_gen == gen + 1
    assert bt.ledger.slots[-1].orders[-1].status.value == "REJECTED"
    fills = len(bt.fills)
    bt._place(Place(-1, Side.BUY, Role.OPEN, Decimal("30100"), Decimal("0.001"), False), p, Decimal("30050"), T0)
    taker = bt.fills[fills]
    assert (taker.price, taker.maker, bt.counters.taker_fills) == (Decimal("30050"), False, 1)


@pytest.mark.parametrize("fee_mode", ["quote", "base_on_buy", "third"])
def test_the_ledger_and_the_account_agree_exactly(fee_mode):
    paper = {"fee_mode": fee_mode, "balances": {"USDT": "5000", "BTC": "0.01", "BNB": "0.05"}}
    bt = run(config({"interval": "60"}, {"buy_window": 5, "quote_per_level": "100"}, paper), generated(6_000, 4))
    acc, led = bt.account, bt.ledger
    assert len(bt.fills) > 50
    assert acc.total("BTC") - acc.initial["BTC"] == led.position
    quote = acc.initial["USDT"] + led.realized_pnl - sum((s.state.cost for s in led.slots.values()), Decimal(0))
    assert acc.total("USDT") == quote
    fees = led.fees()
    if fee_mode == "third":
        assert acc.total("BNB") == acc.initial["BNB"] - fees.get("BNB", Decimal(0))
    for asset in fees:
        assert fees[asset] == sum((f.fee for f in bt.fills if f.fee_asset == asset), Decimal(0))
    assert all(v >= 0 for v in acc.free.values()) and all(v >= 0 for v in acc.locked.values())


def test_an_order_the_balance_cannot_cover_is_refused():
    bt = run(
        config({"interval": "60"}, {"buy_window": 8}, {"balances": {"USDT": "400", "BTC": "0"}}), generated(3_000, 4)
    )
    assert bt.counters.refused_balance > 0
    assert bt.account.free["USDT"] >= 0
    assert bt.ledger.counts["REJECTED"] == 0  # refusals are evidence the order never existed, not bad input


def test_finished_orders_leave_memory():
    bt = run(config({"interval": "30"}, {"buy_window": 6}), generated(8_000, 8))
    assert len(bt.fills) > 200
    assert bt.ledger.ram_orders <= 2 * 6 + 20  # live orders, not the history


def _outcome(bt: Backtest):
    state = ledger_state(bt.ledger)
    return bt.fills, state, bt.state, dict(bt.account.free), dict(bt.account.locked), bt.counters.placed


@settings(max_examples=20)
@given(
    interval=st.sampled_from(["30", "60", "120", "250"]),
    window=st.integers(1, 8),
    hysteresis=st.sampled_from(["0", "0.1", "0.25", "0.49"]),
    post_only=st.booleans(),
    post_only_close=st.booleans(),
    max_open=st.sampled_from([2, 5, 24]),
    fee_mode=st.sampled_from(["quote", "base_on_buy", "third"]),
    usdt=st.sampled_from(["350", "20000"]),
    seed=st.integers(0, 10_000),
    kind=st.sampled_from(["candles", "trades"]),
)
def test_skipping_quiet_runs_gives_exactly_the_run_that_decides_at_every_price(
    interval, window, hysteresis, post_only, post_only_close, max_open, fee_mode, usdt, seed, kind
):
    """The vectorised skip is an optimisation only: the same fills, ledger, strategy state and
    balances as deciding at every single price of the path."""
    cfg = config(
        {"interval": interval},
        {
            "buy_window": window,
            "hysteresis": hysteresis,
            "post_only": post_only,
            "post_only_close": post_only_close,
            "max_open_orders": max_open,
            "quote_per_level": "60",
        },
        {"fee_mode": fee_mode, "balances": {"USDT": usdt, "BTC": "0", "BNB": "0.02"}},
    )
    data = generated(300 if kind == "candles" else 1_200, seed, volatility=1.5)
    fast, slow = run(cfg, data), run(cfg, data, skip=False)
    assert _outcome(fast) == _outcome(slow)
    assert fast.counters.decisions <= slow.counters.decisions


def test_skipping_on_a_long_run_matches_and_decides_rarely():
    cfg = config({"interval": "60"}, {"buy_window": 6})
    data = generated(2_000, 21)
    fast, slow = run(cfg, data), run(cfg, data, skip=False)
    assert _outcome(fast) == _outcome(slow)
    assert fast.counters.decisions * 5 < slow.counters.decisions


def test_a_file_reads_into_the_same_run(tmp_path: Path):
    from gridledger.testkit.candles import write_ohlcv_csv

    c = generate_candles(1_000, seed=5)
    path = write_ohlcv_csv(tmp_path / "c.csv", c)
    cfg = config({"interval": "60"}, {"buy_window": 4})
    from_file = run(cfg, load_market_data(path, STEP))
    from_arrays = run(
        cfg,
        MarketData(
            "candles", "x", "ohlcv", STEP, c["ts_ms"], c["open"], c["high"], c["low"], c["close"], c["volume"], 60_000
        ),
    )
    assert len(from_file.fills) > 0 and from_file.fills == from_arrays.fills
