"""The backtest's comparison figures follow the grid's direction (backtest/benchmark.py):
a short grid is compared with holding the short, a neutral grid's benchmark is left out with
the reason, the "every ... filled" row and the per-level unrealized PnL of the plot page are
signed per slot; a long grid's document and text read exactly as before."""

from __future__ import annotations

import io
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path

from rich.console import Console

from gridledger.backtest.benchmark import NEUTRAL_REASON
from gridledger.backtest.plot import series_from_backtest
from gridledger.backtest.report import build_report, print_report
from gridledger.backtest.run import Backtest
from gridledger.backtest.setup import setup_from_config
from gridledger.config import load_config
from gridledger.marketdata import load_market_data
from gridledger.paper.perp import perp_session_config
from gridledger.paper.settings import paper_settings

D = Decimal
SAMPLE = Path(str(files("gridledger") / "data" / "btcusdt-1m-sample.csv"))
BUNDLED = Path(str(files("gridledger") / "data" / "paper.toml"))


@cache
def _run(direction: str, market: str = "perp") -> tuple[Backtest, dict]:
    cfg = load_config(BUNDLED)
    ps = paper_settings(dict(cfg.paper))
    if market == "perp":
        cfg = perp_session_config(cfg, market="perp", direction=direction, leverage=2, start_price=D("30000"))
    bt = Backtest(setup_from_config(cfg, ps), load_market_data(SAMPLE, ps.price_step)).run()
    return bt, build_report(bt, wall_seconds=1.0)


def _text(doc: dict) -> str:
    out = io.StringIO()
    print_report(Console(file=out, width=200, color_system=None), doc)
    return out.getvalue()


def _move(doc: dict) -> float:
    return float(D(doc["last_price"])) / float(D(doc["first_price"])) - 1


def test_a_short_grid_is_compared_with_holding_the_short() -> None:
    _, doc = _run("short")
    bh = doc["buy_and_hold"]
    assert doc["direction"] == "short" and bh["holding"] == "short"
    # Holding a short gains what a long loses: the sign of the price move, flipped.
    assert bh["return_pct"] == f"{-_move(doc) * 100:.3f}"
    text = _text(doc)
    assert "sell and hold (short)" in text and "buy and hold" not in text
    assert "every opening sell filled" in text and "every buy filled" not in text


def _ramp(path: Path) -> Path:
    """One-minute candles from 30000 up to 30700 in 35 minutes, then 30 flat minutes."""
    rows = ["timestamp,open,high,low,close,volume"]
    price = 30000
    for i in range(65):
        nxt = min(price + 20, 30700)
        rows.append(f"{1767225600000 + i * 60_000},{price},{nxt},{price},{nxt},5")
        price = nxt
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_short_grid_counts_time_with_every_opening_sell_filled(tmp_path: Path) -> None:
    # The price rises through every opening sell below upper_price (no new ones above it), so
    # the short grid holds its short with no opening order resting for the flat half hour.
    # Counting only positive inventory (a long grid's) would report 0 % for any short grid.
    cfg = load_config(BUNDLED)
    ps = paper_settings(dict(cfg.paper))
    cfg = perp_session_config(cfg, market="perp", direction="short", leverage=2, start_price=D("30000"))
    cfg = cfg.model_copy(update={"strategy": cfg.strategy.model_copy(update={"upper_price": D("30400")})})
    data = load_market_data(_ramp(tmp_path / "ramp.csv"), ps.price_step)
    bt = Backtest(setup_from_config(cfg, ps), data).run()
    doc = build_report(bt, wall_seconds=1.0)
    assert bt.qty < 0, "the short grid holds no short: the test proves nothing"
    assert doc["time_all_buys_filled"]["seconds"] >= 25 * 60
    assert "every opening sell filled" in _text(doc)


def test_a_neutral_grid_leaves_the_benchmark_out_and_says_why() -> None:
    _, doc = _run("neutral")
    bh = doc["buy_and_hold"]
    assert bh["return_pct"] is None and bh["omitted"] == NEUTRAL_REASON
    text = _text(doc)
    assert "hold benchmark" in text and "neutral grid starts flat" in text and "buy and hold" not in text
    assert "every opening order filled" in text


def test_the_plot_s_level_pnl_signs_short_slots() -> None:
    bt, doc = _run("short")
    series = series_from_backtest(bt, doc)
    last = float(D(doc["last_price"]))
    rows = {lv["level"]: lv for lv in doc["levels"]}
    held = [r for r in rows.values() if D(r["qty"]) > 0]
    assert held, "no short slot held inventory at the end: the test proves nothing"
    for level, _, _, unrealized in series.level_pnl:
        row = rows[level]
        assert row["direction"] == "short"
        expected = float(D(row["cost"])) - float(D(row["qty"])) * last  # gains as the price falls
        assert abs(unrealized - expected) < 1e-6
    # The plot's levels sum to the report's unrealized PnL (float, to the cent).
    assert abs(sum(u for *_, u in series.level_pnl) - float(D(doc["unrealized_pnl"]))) < 0.01


def test_a_long_grid_reads_as_before() -> None:
    _, doc = _run("long", market="spot")
    assert "direction" not in doc
    assert set(doc["buy_and_hold"]) == {"return_pct", "pnl_on_committed"}
    assert doc["buy_and_hold"]["return_pct"] == f"{_move(doc) * 100:.3f}"
    text = _text(doc)
    assert "buy and hold" in text and "every buy filled" in text and "sell and hold" not in text
