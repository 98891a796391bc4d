"""The backtest's figures over time for a paper session: equity, drawdown, buy-and-hold, the plot.

A paper session's ledger books the same exact PnL as a backtest (its report prints it); what
it does not keep is a time series. This module rebuilds one after the session: the price
path is the session's own (the seeded synthetic path is generated again, a CSV path read
again), and the account's holdings over time come from the venue's fills (``SimTrade``, the
ground truth the audit compares the ledger with). Total PnL at a tick is then

    quote received - quote paid - quote fees + (base bought - base sold - base fees) x price,

which at the end equals the ledger's realized + unrealized PnL. A third-asset fee is valued
at the configured ``third_asset_price``. Float64, for the report's drawdown and the page only.
"""

from __future__ import annotations

from array import array
from decimal import Decimal
from typing import Any

import numpy as np

from gridledger.backtest.benchmark import hold_fields, level_unrealized
from gridledger.backtest.plot import PlotFill, PlotSeries
from gridledger.domain.coid import decode
from gridledger.domain.types import Side
from gridledger.marketdata.series import iso


def _r(x: float, places: int = 2) -> str:
    return f"{x:.{places}f}"


def price_series(ps: Any, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """The session's price path up to ``end_ms``: (ts_ms int64, price float64).

    The venue trades a minute past the session's end (the closing reconciliation books what
    it filled then, and the last price is that minute's), so callers pass ``end + 60 s``."""
    from gridledger.paper.venue import price_path  # the session's own path builder: the same ticks

    path, _, _ = price_path(ps, ps.duration_ms)
    ts, price = array("q"), array("d")
    for tick in path:
        if tick.ts_ms > end_ms:
            break
        ts.append(tick.ts_ms)
        price.append(float(tick.price))
    return np.frombuffer(ts, dtype=np.int64), np.frombuffer(price, dtype=np.float64)


def holdings(
    trades: list[Any], base: str, quote: str, third_price: Decimal, ts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Base held and quote spent (net), as changes since the start, at each of ``ts``."""
    if not trades:
        return np.zeros(ts.shape[0]), np.zeros(ts.shape[0])
    trades = sorted(trades, key=lambda t: t.ts_ms)
    t_ms = np.asarray([t.ts_ms for t in trades], dtype=np.int64)
    d_base = np.zeros(len(trades))
    d_quote = np.zeros(len(trades))
    for k, t in enumerate(trades):
        sign = 1.0 if t.side is Side.BUY else -1.0
        d_base[k] = sign * float(t.amount)
        d_quote[k] = -sign * float(t.quote_qty)
        if t.fee_asset == base:
            d_base[k] -= float(t.fee)
        elif t.fee_asset == quote:
            d_quote[k] -= float(t.fee)
        else:
            d_quote[k] -= float(t.fee * third_price)
    which = np.searchsorted(t_ms, ts, side="right")  # trades at or before each tick
    cb = np.concatenate(([0.0], np.cumsum(d_base)))[which]
    cq = np.concatenate(([0.0], np.cumsum(d_quote)))[which]
    return cb, cq


def paper_figures(cfg: Any, ps: Any, result: Any) -> tuple[dict[str, Any], PlotSeries]:
    """The report's fields over time (return, max drawdown, buy-and-hold) and the plot series."""
    inst = cfg.grid.spec().instrument
    ts, price = price_series(ps, result.end_ms + 60_000)
    trades = list(result.trades)
    base_held, quote_net = holdings(trades, inst.base, inst.quote, ps.third_asset_price, ts)
    equity = quote_net + base_held * price
    fields: dict[str, Any] = {}
    if price.size:
        first, last = float(price[0]), float(price[-1])
        capital = float(ps.balances.get(inst.quote, Decimal(0))) + float(ps.balances.get(inst.base, Decimal(0))) * first
        total = float(Decimal(result.state["realized_pnl"]) + result.unrealized_pnl)
        peak = np.maximum.accumulate(np.maximum(equity, 0.0))
        dd = peak - equity
        k = int(np.argmax(dd))
        drawdown: dict[str, Any] = {"value": "0.00", "at": None, "peak_at": None}
        if float(dd[k]) > 0:
            before = equity[: k + 1]
            p = int(np.argmax(before))
            drawdown = {
                "value": _r(float(dd[k])),
                "at": iso(int(ts[k])),
                "peak_at": iso(int(ts[p])) if float(before[p]) > 0 else iso(int(ts[0])),
            }
        fields = {
            "capital_at_start": _r(capital),
            "return_on_capital_pct": _r(total / capital * 100, 3) if capital > 0 else None,
            "max_drawdown": drawdown,
            # Holding the grid's passive position: long for a long grid, short for a short one,
            # left out with the reason for a neutral one (backtest/benchmark.py).
            "buy_and_hold": hold_fields(str(cfg.grid.direction), first, last, capital, "pnl_on_capital"),
        }
    anchor, interval = cfg.grid.anchor, cfg.grid.interval
    lines: list[float] = []
    if price.size:
        lo = int(np.ceil((float(price.min()) - float(anchor)) / float(interval)))
        hi = int(np.floor((float(price.max()) - float(anchor)) / float(interval)))
        if hi - lo <= 200:
            lines = [float(anchor + k * interval) for k in range(lo, hi + 1)]
    fills = []
    for t in trades:
        cid = decode(t.client_order_id)
        fills.append(
            PlotFill(t.ts_ms, t.side, cid.level if cid is not None else 0, t.price, t.amount, t.client_order_id)
        )
    last_price = float(result.last_price) if result.last_price is not None else 0.0
    level_pnl = [
        (
            int(lv["level"]),
            float(Decimal(lv["price"])),
            float(Decimal(lv["realized_pnl"])),
            level_unrealized(lv, float(Decimal(lv["qty"])), float(Decimal(lv["cost"])), last_price),
        )
        for lv in result.state["slots"]
    ]
    total_pnl = Decimal(result.state["realized_pnl"]) + result.unrealized_pnl
    series = PlotSeries(
        title=f"{result.state['symbol']} grid {result.state['grid_id']} paper session: total PnL {total_pnl:.2f}, "
        f"max drawdown {fields.get('max_drawdown', {}).get('value', '0.00')} (no trailing centre: the "
        "engine's state is not recorded over time)",
        ts_ms=ts,
        price=price,
        equity=equity,
        inventory=base_held,
        centre_ts_ms=np.zeros(0, dtype=np.int64),
        centre_price=np.zeros(0),
        level_prices=lines,
        fills=fills,
        level_pnl=level_pnl,
    )
    return fields, series
