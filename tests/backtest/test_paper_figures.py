"""Paper gets the backtest's report fields over time and the same plot page: total PnL,
return, max drawdown, buy-and-hold, computed from the session's own price path and fills."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

from gridledger.backtest.paper_series import paper_figures
from gridledger.config import load_config
from gridledger.paper.session import run_paper
from gridledger.paper.settings import paper_settings

BUNDLED = Path(str(files("gridledger") / "data" / "paper.toml"))


def test_the_equity_curve_ends_at_the_ledgers_total_pnl() -> None:
    cfg = load_config(BUNDLED)
    ps = paper_settings({**cfg.paper, "duration": "3h"})
    result = run_paper(cfg, ps)
    assert result.trades, "the session traded nothing: the test proves nothing"
    fields, series = paper_figures(cfg, ps, result)
    total = Decimal(result.state["realized_pnl"]) + result.unrealized_pnl
    # The series is rebuilt from the venue's fills and the price path: at the end it is the
    # ledger's exact total PnL (float64 for drawing, so to the cent).
    assert series.equity[-1] == pytest.approx(float(total), abs=0.01)
    assert series.inventory[-1] == pytest.approx(float(Decimal(result.state["position"])), abs=1e-9)
    buys = sum(1 for f in series.fills if f.side.value == "buy")
    assert 0 < buys < len(series.fills) == len(result.trades)
    assert Decimal(fields["max_drawdown"]["value"]) >= 0
    first, last = float(series.price[0]), float(series.price[-1])
    assert fields["buy_and_hold"]["return_pct"] == f"{(last / first - 1) * 100:.3f}"


def test_paper_cli_reports_the_figures_and_writes_the_page(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridledger.cli",
            "paper",
            "--duration",
            "2h",
            "--plot",
            "p.html",
            "--report-json",
            "r.json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert Decimal(doc["total_pnl"]) == Decimal(doc["realized_pnl"]) + Decimal(doc["unrealized_pnl"])
    for key in ("return_on_capital_pct", "max_drawdown", "buy_and_hold"):
        assert doc[key] is not None, key
    for label in ("total PnL", "return on capital", "max drawdown", "buy and hold"):
        assert label in run.stdout, label
    page = (tmp_path / "p.html").read_text()
    assert re.search(r"<script[^>]*\bsrc=", page) is None and "Plotly.newPlot" in page
    assert '"name":"buy fills"' in page.replace(": ", ":")
