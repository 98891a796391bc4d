"""The plot page (``--plot FILE.html``): one self-contained HTML file made with plotly.

plotly (MIT licence, https://github.com/plotly/plotly.py) writes the page with plotly.js
embedded (``include_plotlyjs=True``), so it opens with no network. Four panels share the time
axis except the last: price with the grid levels, the trailing centre and every fill; total
PnL (equity) and its drawdown; inventory; realized and unrealized PnL per level.

Long runs are downsampled for the lines only: each of at most ``MAX_POINTS / 2`` buckets
keeps its lowest and highest point, so every spike stays visible. Fill markers are never
downsampled: the page shows each applied trade (the browser test counts them against the
fills CSV). Values are float64 for drawing; the booked figures are in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from gridledger.backtest.benchmark import level_unrealized
from gridledger.domain.types import Role, Side

MAX_POINTS = 5_000
# Trace names the browser test looks for; keep them stable.
BUYS = "buy fills"
SELLS = "sell fills"


@dataclass(frozen=True, slots=True)
class PlotFill:
    ts_ms: int
    side: Side
    level: int
    price: Decimal
    qty: Decimal
    client_id: str


@dataclass(slots=True)
class PlotSeries:
    """What the page draws; built from a backtest (``series_from_backtest``) or a paper session."""

    title: str
    ts_ms: np.ndarray  # int64, one per price sample (a candle's close time, a trade's time)
    price: np.ndarray  # float64
    equity: np.ndarray  # float64 total PnL at each sample
    inventory: np.ndarray  # float64 base held at each sample
    centre_ts_ms: np.ndarray  # int64: where the trailing centre moved
    centre_price: np.ndarray  # float64: its price from then on
    level_prices: list[float]  # grid level lines to draw
    fills: list[PlotFill] = field(default_factory=list)
    # per level: (level, price, realized, unrealized)
    level_pnl: list[tuple[int, float, float, float]] = field(default_factory=list)


def downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points: each bucket's minimum and maximum, in time order."""
    n = int(y.shape[0])
    if n <= max_points:
        return x, y
    buckets = max(1, max_points // 2)
    size = -(-n // buckets)  # ceil
    pad = buckets * size - n
    # Pad with the last value so the reshape is exact; the padding never wins a min/max it changes.
    yp = np.concatenate((y, np.full(pad, y[-1]))) if pad else y
    grid = yp.reshape(buckets, size)
    base = np.arange(buckets, dtype=np.int64) * size
    lo = np.minimum(base + np.argmin(grid, axis=1), n - 1)
    hi = np.minimum(base + np.argmax(grid, axis=1), n - 1)
    idx = np.unique(np.concatenate((lo, hi)))
    return x[idx], y[idx]


def _level_lines(prices: Sequence[float], x0: int, x1: int) -> tuple[list[Any], list[Any]]:
    # One trace for all levels: segments separated by None (one legend entry, one DOM trace).
    xs: list[Any] = []
    ys: list[Any] = []
    for p in prices:
        xs += [x0, x1, None]
        ys += [p, p, None]
    return xs, ys


def build_figure(s: PlotSeries) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=4,
        cols=1,
        vertical_spacing=0.06,
        row_heights=[0.45, 0.2, 0.15, 0.2],
        subplot_titles=(
            "price, grid levels, trailing centre, fills",
            "total PnL and drawdown",
            "inventory (base)",
            "PnL per level",
        ),
    )
    x0 = int(s.ts_ms[0]) if s.ts_ms.size else 0
    x1 = int(s.ts_ms[-1]) if s.ts_ms.size else 0
    lx, ly = _level_lines(s.level_prices, x0, x1)
    fig.add_trace(
        go.Scatter(
            x=lx,
            y=ly,
            mode="lines",
            name="grid levels",
            hoverinfo="skip",
            line={"color": "rgba(120,120,120,0.35)", "width": 1},
        ),
        row=1,
        col=1,
    )
    px, py = downsample(s.ts_ms, s.price)
    fig.add_trace(
        go.Scatter(x=px, y=py, mode="lines", name="price", line={"color": "#1f3b73", "width": 1}), row=1, col=1
    )
    if s.centre_ts_ms.size:
        cx = np.append(s.centre_ts_ms, x1)
        cy = np.append(s.centre_price, s.centre_price[-1])
        fig.add_trace(
            go.Scatter(
                x=cx,
                y=cy,
                mode="lines",
                name="trailing centre",
                line_shape="hv",
                line={"color": "#e08a00", "width": 1.5, "dash": "dot"},
            ),
            row=1,
            col=1,
        )
    for side, name, color, symbol in (
        (Side.BUY, BUYS, "#1a9850", "triangle-up"),
        (Side.SELL, SELLS, "#d73027", "triangle-down"),
    ):
        rows = [f for f in s.fills if f.side is side]
        fig.add_trace(
            go.Scatter(
                x=np.asarray([f.ts_ms for f in rows], dtype=np.int64),
                y=np.asarray([float(f.price) for f in rows], dtype=np.float64),
                mode="markers",
                name=name,
                marker={"color": color, "symbol": symbol, "size": 7},
                customdata=[[f.level, str(f.qty), f.client_id] for f in rows],
                hovertemplate="%{x}<br>" + side.value + " level %{customdata[0]} at %{y}<br>qty %{customdata[1]}"
                "<br>%{customdata[2]}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    ex, ey = downsample(s.ts_ms, s.equity)
    fig.add_trace(
        go.Scatter(x=ex, y=ey, mode="lines", name="total PnL", line={"color": "#2c7bb6", "width": 1}), row=2, col=1
    )
    drawdown = s.equity - np.maximum.accumulate(np.maximum(s.equity, 0.0)) if s.equity.size else s.equity
    dx, dy = downsample(s.ts_ms, drawdown)
    fig.add_trace(
        go.Scatter(
            x=dx, y=dy, mode="lines", name="drawdown", fill="tozeroy", line={"color": "rgba(215,48,39,0.6)", "width": 1}
        ),
        row=2,
        col=1,
    )
    ix, iy = downsample(s.ts_ms, s.inventory)
    fig.add_trace(
        go.Scatter(x=ix, y=iy, mode="lines", name="inventory", line_shape="hv", line={"color": "#7b3294", "width": 1}),
        row=3,
        col=1,
    )
    labels = [f"{lv} ({price:g})" for lv, price, _, _ in s.level_pnl]
    fig.add_trace(
        go.Bar(x=labels, y=[r for _, _, r, _ in s.level_pnl], name="realized per level", marker_color="#1a9850"),
        row=4,
        col=1,
    )
    fig.add_trace(
        go.Bar(x=labels, y=[u for _, _, _, u in s.level_pnl], name="unrealized per level", marker_color="#fdae61"),
        row=4,
        col=1,
    )
    for row in (1, 2, 3):
        fig.update_xaxes(type="date", row=row, col=1)
        if row > 1:
            fig.update_xaxes(matches="x", row=row, col=1)
    fig.update_xaxes(type="category", row=4, col=1)
    fig.update_layout(
        title=s.title,
        barmode="relative",
        height=1100,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.07},
        margin={"l": 60, "r": 20, "t": 70, "b": 40},
    )
    return fig


def write_plot(s: PlotSeries, path: Path) -> None:
    fig = build_figure(s)
    # include_plotlyjs=True embeds plotly.js (MIT): the page needs no network to open.
    fig.write_html(str(path), include_plotlyjs=True, full_html=True, config={"displaylogo": False})


def _step_values(n: int, index: Sequence[int], values: Sequence[float]) -> np.ndarray:
    """A value recorded at some samples, carried forward to every sample (0 before the first)."""
    if not index:
        return np.zeros(n)
    idx = np.asarray(index, dtype=np.int64)
    which = np.searchsorted(idx, np.arange(n, dtype=np.int64), side="right") - 1
    return np.concatenate(([0.0], np.asarray(values, dtype=np.float64)))[which + 1]


def _step(grid: Any, level: int) -> int:
    direction = grid.level_direction(level)
    return direction.step if direction is not None else 1


def series_from_backtest(bt: Any, doc: dict[str, Any]) -> PlotSeries:
    """The page's series from a finished ``Backtest`` and its report document."""
    data = bt.data
    n = len(data)
    step = float(data.price_step)
    close_ms = data.interval_ms if data.kind == "candles" else 0
    ts = data.ts_ms.astype(np.int64) + close_ms
    price = data.close.astype(np.float64) * step
    anchor, interval = bt.params.anchor, bt.params.interval
    m = bt.marks
    centre_price = np.asarray([float(anchor + c * interval) for c in m.centre], dtype=np.float64)
    centre_ts = ts[np.asarray(m.centre_index, dtype=np.int64)] if m.centre_index else np.zeros(0, dtype=np.int64)
    lo, hi = float(np.min(data.low)) * step, float(np.max(data.high)) * step
    first = int(np.ceil((lo - float(anchor)) / float(interval)))
    last = int(np.floor((hi - float(anchor)) / float(interval)))
    # Each fill's level and the level its closing order trades at: one up from a long slot, one
    # down from a short one (the fill's level is its slot's).
    grid = bt.setup.grid
    filled = {f.level for f in bt.fills} | {f.level + _step(grid, f.level) for f in bt.fills if f.role is Role.OPEN}
    if last - first <= 200:
        lines = [float(anchor + k * interval) for k in range(first, last + 1)]
    else:  # a dense grid would be a grey wall: draw the levels that traded
        lines = [float(anchor + k * interval) for k in sorted(filled)]
    last_price = float(Decimal(doc["last_price"]))
    level_pnl = [
        (
            int(lv["level"]),
            float(Decimal(lv["price"])),
            float(Decimal(lv["realized_pnl"])),
            # A short slot gains as the price falls (backtest/benchmark.py).
            level_unrealized(lv, float(Decimal(lv["qty"])), float(Decimal(lv["cost"])), last_price),
        )
        for lv in doc["levels"]
    ]
    fills = [PlotFill(f.ts_ms, f.side, f.level, f.price, f.qty, f.client_id) for f in bt.fills]
    return PlotSeries(
        title=f"{doc['symbol']} grid {doc['grid_id']} backtest, {doc['start']} to {doc['end']}: total PnL "
        f"{Decimal(doc['total_pnl']):.2f}, max drawdown {doc['max_drawdown']['value']}",
        ts_ms=ts,
        price=price,
        equity=bt.pnl_curve(),
        inventory=_step_values(n, m.index, m.qty),
        centre_ts_ms=centre_ts,
        centre_price=centre_price,
        level_prices=lines,
        fills=fills,
        level_pnl=level_pnl,
    )
