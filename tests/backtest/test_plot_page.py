"""The plot page without a browser: downsampling keeps every bucket's extremes and at most
MAX_POINTS points; every fill is a marker; the page loads nothing from the network."""

from __future__ import annotations

import re
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gridledger.backtest import run_backtest
from gridledger.backtest.plot import BUYS, MAX_POINTS, SELLS, build_figure, downsample, series_from_backtest, write_plot
from gridledger.backtest.report import build_report
from gridledger.config import load_config
from gridledger.marketdata import load_market_data
from gridledger.testkit.candles import generate_candles, write_ohlcv_csv

BUNDLED = Path(str(files("gridledger") / "data" / "paper.toml"))


@given(st.integers(1, 40_000), st.integers(4, 500), st.integers(0, 2**32 - 1))
def test_downsample_keeps_the_extremes_and_the_order(n: int, max_points: int, seed: int) -> None:
    y = np.random.default_rng(seed).normal(size=n).cumsum()
    x = np.arange(n, dtype=np.int64)
    dx, dy = downsample(x, y, max_points)
    assert dx.size <= max(max_points, 2) if n > max_points else dx.size == n
    assert np.all(np.diff(dx) > 0)  # time order, no repeats
    assert np.array_equal(dy, y[dx])
    assert dy.max() == y.max() and dy.min() == y.min()


def test_a_long_run_is_downsampled_but_every_fill_is_drawn(tmp_path: Path) -> None:
    csv_path = tmp_path / "c.csv"
    write_ohlcv_csv(csv_path, generate_candles(20_000, seed=11))
    bt = run_backtest(load_config(BUNDLED), load_market_data(csv_path, Decimal("0.01")))
    doc = build_report(bt, wall_seconds=1.0)
    fig = build_figure(series_from_backtest(bt, doc))
    traces = {t.name: t for t in fig.data}
    assert len(traces["price"].x) <= MAX_POINTS and len(traces["total PnL"].x) <= MAX_POINTS
    buys = sum(1 for f in bt.fills if f.side.value == "buy")
    assert len(traces[BUYS].x) == buys and len(traces[SELLS].x) == len(bt.fills) - buys > 0
    page = tmp_path / "p.html"
    write_plot(series_from_backtest(bt, doc), page)
    text = page.read_text()
    assert re.search(r"<script[^>]*\bsrc=", text) is None and "Plotly.newPlot" in text
