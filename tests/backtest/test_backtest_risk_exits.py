"""The backtest honours [risk] the way the engine does (backtest/exits.py): the stop fires once,
every resting order is cancelled, each slot is closed once, nothing opens again, the report
says why; skipping and deciding at every price agree; max_position caps opening buys."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import numpy as np

from gridledger.backtest.report import build_report
from gridledger.backtest.run import Backtest
from gridledger.backtest.setup import setup_from_config
from gridledger.config import parse_config
from gridledger.domain.types import Role, Side
from gridledger.marketdata.series import MarketData

STEP = Decimal("0.01")
T0 = 1_767_225_600_000


def config(risk: dict | None = None):
    return parse_config(
        {
            "grid": {"id": "bt1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"},
            "strategy": {"buy_window": 4, "quote_per_level": "150"},
            "paper": {"balances": {"USDT": "10000", "BTC": "0"}},
            "risk": risk or {},
        }
    )


def candles(closes: list[str]) -> MarketData:
    """One-minute candles that walk from close to close (open = previous close)."""
    rows = []
    prev = closes[0]
    for c in closes:
        o, cl = Decimal(prev), Decimal(c)
        rows.append((o, max(o, cl), min(o, cl), cl))
        prev = c
    ticks = np.array([[int(x / STEP) for x in r] for r in rows], dtype=np.int64)
    n = len(rows)
    return MarketData(
        "candles",
        "test",
        "ohlcv",
        STEP,
        T0 + 60_000 * np.arange(n, dtype=np.int64),
        ticks[:, 0],
        ticks[:, 1],
        ticks[:, 2],
        ticks[:, 3],
        np.ones(n),
        60_000,
    )


SLIDE = ["30000"] * 5 + [str(30000 - 50 * k) for k in range(1, 25)] + ["28800"] * 10 + ["30500"] * 10


def _run(risk: dict | None, skip: bool = True, data: MarketData | None = None) -> Backtest:
    return Backtest(setup_from_config(config(risk)), data or candles(SLIDE), skip=skip).run()


def test_stop_loss_closes_each_slot_once_and_stops_the_grid():
    bt = _run({"stop_loss_price": "29100"})
    exit_ = bt.risk_exit
    assert exit_ is not None and exit_["kind"] == "stop_loss" and exit_["phase"] == "done"
    assert Decimal(exit_["price"]) <= Decimal("29100")
    at = exit_["ts_ms"]
    # The venue trades first at a price, then the exit acts on it: a buy resting at the stop
    # price may fill at the trigger's own time; after it, only closing sells.
    closes = [f for f in bt.fills if f.ts_ms >= at and f.role is Role.CLOSE]
    assert closes and all(f.side is Side.SELL for f in closes)
    assert not [f for f in bt.fills if f.ts_ms > at]
    levels = [f.level for f in closes]
    assert len(levels) == len(set(levels))
    # Nothing afterwards, although the price comes back up to 30500.
    assert all(f.ts_ms == at for f in closes)
    assert not bt.live and bt.ledger.net_position < Decimal("0.0001")
    doc = build_report(bt, wall_seconds=1.0)
    assert doc["risk_exit"]["kind"] == "stop_loss"


def test_skipping_and_deciding_every_price_agree_with_an_exit():
    a, b = _run({"stop_loss_price": "29100"}), _run({"stop_loss_price": "29100"}, skip=False)
    assert a.risk_exit == b.risk_exit
    assert [(f.ts_ms, f.level, f.side, f.price, f.qty) for f in a.fills] == [
        (f.ts_ms, f.level, f.side, f.price, f.qty) for f in b.fills
    ]


def test_without_risk_the_grid_trades_on():
    bt = _run(None)
    assert bt.risk_exit is None
    assert any(f.side is Side.SELL and f.price >= Decimal("29000") for f in bt.fills)


def test_take_profit_and_drawdown():
    up = _run({"take_profit_price": "30400", "stop_loss_price": "28000"})
    assert up.risk_exit is not None and up.risk_exit["kind"] == "take_profit"
    dd = _run({"max_drawdown": "10"})
    assert dd.risk_exit is not None and dd.risk_exit["kind"] == "max_drawdown"
    assert not dd.skip  # the drawdown needs the equity at every price


def test_max_position_caps_opening_buys():
    free = _run(None)
    capped = _run({"max_position": "0.011"})

    def peak_position(bt: Backtest) -> Decimal:
        pos, peak = Decimal(0), Decimal(0)
        for f in bt.fills:
            pos += f.qty if f.side is Side.BUY else -f.qty
            peak = max(peak, pos)
        return peak

    assert peak_position(free) > Decimal("0.011")
    assert peak_position(capped) <= Decimal("0.011")


def test_backtest_cli_report_says_why_it_stopped(tmp_path):
    rows = ["timestamp_ms,open,high,low,close,volume"]
    prev = SLIDE[0]
    for i, c in enumerate(SLIDE):
        o, cl = Decimal(prev), Decimal(c)
        rows.append(f"{T0 + 60_000 * i},{o},{max(o, cl)},{min(o, cl)},{cl},1")
        prev = c
    data = tmp_path / "c.csv"
    data.write_text("\n".join(rows) + "\n")
    cfg = tmp_path / "g.toml"
    cfg.write_text(
        '[grid]\nid = "bt1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "100"\n'
        '[strategy]\nbuy_window = 4\nquote_per_level = "150"\n[risk]\nstop_loss_price = "29100"\n'
    )
    out = tmp_path / "r.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridledger.cli",
            "backtest",
            "--config",
            str(cfg),
            "--data",
            str(data),
            "--report-json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "stopped by risk exit stop_loss" in done.stdout
    assert json.loads(out.read_text())["risk_exit"]["kind"] == "stop_loss"


def test_a_stop_between_levels_fires_at_the_first_price_through_it_when_skipping():
    fine = candles(["30000"] * 5 + [str(30000 - 7 * k) for k in range(1, 200)])
    a = _run({"stop_loss_price": "29130"}, data=fine)
    b = _run({"stop_loss_price": "29130"}, skip=False, data=fine)
    assert a.risk_exit == b.risk_exit
    assert Decimal("29123") <= Decimal(a.risk_exit["price"]) <= Decimal("29130")


def test_a_short_perpetual_backtest_stops_above_and_buys_back_its_position(tmp_path):
    closes = ["30000"] * 5 + [str(30000 + 50 * k) for k in range(1, 25)] + ["31200"] * 10 + ["29500"] * 10
    rows = ["timestamp_ms,open,high,low,close,volume"]
    prev = closes[0]
    for i, c in enumerate(closes):
        o, cl = Decimal(prev), Decimal(c)
        rows.append(f"{T0 + 60_000 * i},{o},{max(o, cl)},{min(o, cl)},{cl},1")
        prev = c
    data = tmp_path / "up.csv"
    data.write_text("\n".join(rows) + "\n")
    cfg = tmp_path / "g.toml"
    cfg.write_text(
        '[grid]\nid = "bs1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "100"\n'
        '[strategy]\nbuy_window = 4\nquote_per_level = "150"\n[risk]\nstop_loss_price = "30900"\n'
    )
    out = tmp_path / "r.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridledger.cli",
            "backtest",
            "--config",
            str(cfg),
            "--data",
            str(data),
            "--market",
            "perp",
            "--direction",
            "short",
            "--report-json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["risk_exit"]["kind"] == "stop_loss" and "at or above stop_loss_price 30900" in doc["risk_exit"]["detail"]
    assert Decimal(doc["risk_exit"]["position"]) < 0 and Decimal(doc["position"]) == 0
    assert "journal clear-exit" not in done.stdout  # nothing to resume in a backtest
