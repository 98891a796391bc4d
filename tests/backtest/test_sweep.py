"""``gridledger sweep``: every combination across processes, rows that are the backtest's own
figures, sorted best first, a CSV and an offline heatmap page; a bad --set is one line naming
it (exit 2) before any work."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

from gridledger.backtest import run_backtest
from gridledger.backtest.report import build_report
from gridledger.backtest.sweep import sort_rows
from gridledger.config import load_config
from gridledger.marketdata import load_market_data

SAMPLE = Path(str(files("gridledger") / "data" / "btcusdt-1m-sample.csv"))
BUNDLED = Path(str(files("gridledger") / "data" / "paper.toml"))


def sweep(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "sweep", *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def test_a_2x2_sweep_writes_every_combination_best_first(tmp_path: Path) -> None:
    run = sweep(
        "--data",
        str(SAMPLE),
        "--set",
        "grid.interval=120,240",
        "--set",
        "strategy.hysteresis=0.1,0.4",
        "--jobs",
        "2",
        "--csv",
        "rows.csv",
        "--heatmap",
        "heat.html",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    with (tmp_path / "rows.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["grid.interval"], r["strategy.hysteresis"]) for r in rows} == {
        ("120", "0.1"),
        ("120", "0.4"),
        ("240", "0.1"),
        ("240", "0.4"),
    }
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    pnl = [Decimal(r["total_pnl"]) for r in rows]
    assert pnl == sorted(pnl, reverse=True)
    # A row is the backtest's own result for that combination.
    cfg = load_config(BUNDLED)
    cfg = cfg.model_copy(
        update={
            "grid": cfg.grid.model_copy(update={"interval": Decimal("240")}),
            "strategy": cfg.strategy.model_copy(update={"hysteresis": Decimal("0.4")}),
        }
    )
    doc = build_report(run_backtest(cfg, load_market_data(SAMPLE, Decimal("0.01"))), wall_seconds=1.0)
    row = next(r for r in rows if (r["grid.interval"], r["strategy.hysteresis"]) == ("240", "0.4"))
    assert (row["total_pnl"], row["round_trips"], row["max_drawdown"]) == (
        doc["total_pnl"],
        str(doc["round_trips"]),
        doc["max_drawdown"]["value"],
    )
    # The table fits 80 columns and is sorted as the CSV.
    table = [line for line in run.stdout.splitlines() if line.strip()]
    assert all(len(line) <= 80 for line in table), table
    page = (tmp_path / "heat.html").read_text()
    assert "Heatmap" in page or "heatmap" in page
    # plotly.js is embedded: no script is loaded from anywhere (the page works offline).
    assert re.search(r"<script[^>]*\bsrc=", page) is None and "Plotly.newPlot" in page


def test_sort_order_breaks_ties_on_drawdown_then_round_trips() -> None:
    rows = [
        {"total_pnl": "5", "max_drawdown": "3", "round_trips": 1},
        {"total_pnl": "5", "max_drawdown": "1", "round_trips": 1},
        {"total_pnl": "9", "max_drawdown": "9", "round_trips": 0},
        {"total_pnl": "5", "max_drawdown": "1", "round_trips": 7},
        {"total_pnl": "-2", "max_drawdown": "0", "round_trips": 9},
    ]
    assert [(r["total_pnl"], r["max_drawdown"], r["round_trips"]) for r in sort_rows(rows)] == [
        ("9", "9", 0),
        ("5", "1", 7),
        ("5", "1", 1),
        ("5", "3", 1),
        ("-2", "0", 9),
    ]


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ("grid.intervall=60,120", "--set grid.intervall: not a sweepable config field (not a field of [grid])"),
        ("engine.reconcile_every_s=1,2", "--set engine.reconcile_every_s: not a sweepable config field"),
        ("strategy.buy_window=4,0", "--set strategy.buy_window=0:"),
        ("grid.interval=60,abc", "--set grid.interval=abc:"),
        ("grid.interval=120,0.005", "--set grid.interval=0.005:"),  # off the market's 0.01 price step
        ("grid.interval", "--set 'grid.interval': expected section.field=value1,value2"),
    ],
)
def test_a_bad_set_is_one_line_naming_it_before_any_work(tmp_path: Path, bad: str, named: str) -> None:
    run = sweep("--data", str(SAMPLE), "--set", bad, "--csv", "rows.csv", cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: " + named), lines
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "rows.csv").exists()
