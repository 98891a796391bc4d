"""Parity (issue 9 item 3): backtest and paper, same data, faults off, book the same fills and
end in the same ledger state.

Paper plays each 1-minute candle as four prints 15 s apart (open, then low and high in the
candle's direction, then the close), the backtest's documented path and timing, and its engine
reacts within milliseconds, long before the next print; so the two agree fill for fill. The
data keeps what the backtest does not model out of the way: volume far above our orders (the
paper venue's participation cap never binds), enough balance that no order is refused (the
engine's refusal back-off runs on the event loop's clock), and max_open_orders high enough
that paper's decision on a price just before its fill arrives (a decision the backtest does
not make) never meets the cap.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import gridledger.paper.session as session
import gridledger.paper.venue as venue
from gridledger.backtest.run import Backtest
from gridledger.backtest.setup import setup_from_config
from gridledger.config import parse_config
from gridledger.ledger.report import ledger_state
from gridledger.marketdata import load_market_data
from gridledger.paper.settings import paper_settings
from gridledger.paper.venue_log import RecordingCore
from gridledger.testkit.candles import generate_candles, write_ohlcv_csv

STATE_KEYS = ("position", "realized_pnl", "fees", "round_trips", "slots", "live_orders", "anomalies", "parked")


def _config(source: Path, key: str, interval: str):
    return parse_config(
        {
            "grid": {"id": "par1", "symbol": "BTC/USDT", "anchor": "30000", "interval": interval},
            "strategy": {"buy_window": 6, "quote_per_level": "150", "max_open_orders": 200},
            "engine": {"journal_synchronous": "OFF", "reconcile_every_s": 86400, "stream_idle_s": 86400},
            "paper": {
                key: str(source),
                "duration": "400d",
                "participation": "1",
                "balances": {"USDT": "1000000", "BTC": "0"},
            },
        }
    )


def _paper(cfg, monkeypatch):
    cores: list[RecordingCore] = []

    class Capture(RecordingCore):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            cores.append(self)

    monkeypatch.setattr(venue, "RecordingCore", Capture)
    result = session.run_paper(cfg, paper_settings(dict(cfg.paper)))
    assert result.audit.match
    (core,) = cores
    fills = [
        (t.ts_ms, t.client_order_id, t.side.value, t.price, t.amount, t.fee, t.fee_asset, t.is_maker)
        for t in core.trades
    ]
    return result, fills


def _backtest(cfg, source: Path):
    setup = setup_from_config(cfg)
    bt = Backtest(setup, load_market_data(source, setup.market.rules.price_step)).run()
    fills = [(f.ts_ms, f.client_id, f.side.value, f.price, f.qty, f.fee, f.fee_asset, f.maker) for f in bt.fills]
    return bt, fills


def _assert_same(result, paper_fills, bt, bt_fills) -> None:
    assert len(bt_fills) == len(paper_fills)
    for k, (a, b) in enumerate(zip(paper_fills, bt_fills, strict=True)):
        assert a == b, f"fill {k}: paper {a} backtest {b}"  # time, client id (level, side, role), price, qty, fee
    state = ledger_state(bt.ledger)
    for key in STATE_KEYS:
        assert result.state[key] == state[key], key
    assert result.last_price == bt.last_price
    assert result.unrealized_pnl == bt.unrealized()


@pytest.mark.slow
def test_a_week_of_one_minute_candles_books_the_same_fills_as_paper(tmp_path, monkeypatch):
    candles = generate_candles(7 * 1440, seed=11)
    candles["volume"] = np.full(7 * 1440, 1000.0)
    source = write_ohlcv_csv(tmp_path / "week.csv", candles, time_column="timestamp_ms")
    cfg = _config(source, "candles_csv", "120")
    result, paper_fills = _paper(cfg, monkeypatch)
    bt, bt_fills = _backtest(cfg, source)
    assert len(bt_fills) > 400 and Decimal(result.state["realized_pnl"]) != 0
    _assert_same(result, paper_fills, bt, bt_fills)


def test_trades_book_the_same_fills_as_paper(tmp_path, monkeypatch):
    # One trade every 10 s: the engine has answered each before the next one prints.
    walk = generate_candles(1_000, seed=5, interval_ms=10_000, volatility=3.0, mean_reversion=200.0)
    source = tmp_path / "trades.csv"
    rows = (f"{t},{p / 100:.2f},5\n" for t, p in zip(walk["ts_ms"].tolist(), walk["close"].tolist(), strict=True))
    source.write_text("timestamp_ms,price,amount\n" + "".join(rows))
    cfg = _config(source, "trades_csv", "60")
    result, paper_fills = _paper(cfg, monkeypatch)
    bt, bt_fills = _backtest(cfg, source)
    assert len(bt_fills) > 30, len(bt_fills)
    _assert_same(result, paper_fills, bt, bt_fills)


def test_paper_plays_each_candle_over_its_own_interval(tmp_path):
    """Paper used to play every candle in its first minute (a fixed 60 s interval): 1-hour
    candles as four ticks 15 s apart, and 1-second candles were refused as overlapping."""
    from gridledger.exchange.sim.prices import CsvCandlesPath

    for interval_ms in (1_000, 3_600_000):
        candles = generate_candles(6, seed=1, interval_ms=interval_ms)
        path = write_ohlcv_csv(tmp_path / f"c{interval_ms}.csv", candles, time_column="timestamp_ms")
        ticks = list(CsvCandlesPath(path))
        start = int(candles["ts_ms"][0])
        assert [t.ts_ms - start for t in ticks[:8]] == [k * interval_ms // 4 for k in range(8)]


def test_hourly_candles_book_the_same_fills_as_paper(tmp_path, monkeypatch):
    candles = generate_candles(3 * 24, seed=3, interval_ms=3_600_000, volatility=1.2)
    candles["volume"] = np.full(3 * 24, 1000.0)
    source = write_ohlcv_csv(tmp_path / "hours.csv", candles, time_column="timestamp_ms")
    cfg = _config(source, "candles_csv", "60")
    result, paper_fills = _paper(cfg, monkeypatch)
    bt, bt_fills = _backtest(cfg, source)
    assert bt.data.interval_ms == 3_600_000 and len(bt_fills) > 20
    _assert_same(result, paper_fills, bt, bt_fills)
