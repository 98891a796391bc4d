"""`gridledger backtest` as users run it (issue 9 items 4-6): report, JSON, fills CSV, errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

from gridledger.backtest import check_fee_step
from gridledger.config import strategy_params

SAMPLE = Path(str(files("gridledger") / "data" / "btcusdt-1m-sample.csv"))


def gridledger(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "backtest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_the_shipped_sample_backtests_and_writes_the_report_and_the_fills(tmp_path):
    report, fills = tmp_path / "report.json", tmp_path / "fills.csv"
    proc = gridledger("--data", str(SAMPLE), "--report-json", str(report), "--fills-csv", str(fills), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for label in (
        "total PnL",
        "realized",
        "unrealized",
        "max drawdown",
        "buy and hold",
        "return on committed",
        "round trips",
        "profit per round trip",
        "every buy filled",
        "dust",
        "levels",
    ):
        assert label in proc.stdout
    doc = json.loads(report.read_text())
    assert doc["data"] == {
        "file": str(SAMPLE),
        "format": "ohlcv",
        "kind": "candles",
        "rows": 4320,
        "interval": "1m",
        "gaps": {"count": 0, "missing_candles": 0, "largest": None, "largest_before": None},
    }
    assert (doc["start"], doc["end"]) == ("2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z")
    assert Decimal(doc["total_pnl"]) == Decimal(doc["realized_pnl"]) + Decimal(doc["unrealized_pnl"])
    assert float(doc["max_drawdown"]["value"]) > 0 and doc["max_drawdown"]["at"]
    rows = list(csv.DictReader(fills.open()))
    assert list(rows[0]) == [
        "time",
        "level",
        "side",
        "role",
        "price",
        "qty",
        "fee",
        "fee_asset",
        "realized_pnl",
        "client_id",
    ]
    assert len(rows) == doc["fills"] > 50
    # The CSV is the ledger's own record: its realized PnL and fees add up to the report's exactly.
    assert sum(Decimal(r["realized_pnl"]) for r in rows) == Decimal(doc["realized_pnl"])
    for asset, total in doc["fees"].items():
        assert sum(Decimal(r["fee"]) for r in rows if r["fee_asset"] == asset) == Decimal(total)
    assert sum(1 for r in rows if r["side"] == "sell") == sum(lv["sells"] for lv in doc["levels"])
    assert doc["round_trips"] == sum(lv["round_trips"] for lv in doc["levels"])


def test_a_relative_data_path_in_the_config_is_read_beside_the_config(tmp_path):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "prices.csv").write_text(SAMPLE.read_text())
    (folder / "grid.toml").write_text(
        '[grid]\nid = "rel1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "120"\n'
        '[paper]\ncandles_csv = "prices.csv"\n'
    )
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    proc = gridledger(
        "--config",
        str(folder / "grid.toml"),
        "--from",
        "2026-01-02",
        "--to",
        "2026-01-03",
        "--report-json",
        "r.json",
        cwd=elsewhere,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((elsewhere / "r.json").read_text())
    assert doc["data"]["rows"] == 1440 and doc["start"] == "2026-01-02T00:00:00Z"


def test_a_grid_step_below_the_round_trip_fee_is_warned_with_both_numbers(tmp_path):
    (tmp_path / "thin.toml").write_text(
        '[grid]\nid = "thin1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "30"\n'
    )
    proc = gridledger("--config", "thin.toml", "--data", str(SAMPLE), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warning = [ln for ln in proc.stderr.splitlines() if "warning" in ln]
    assert (
        warning and "grid step 30 is 0.097 % of the price 30950.75, below the round-trip fee 0.200 %" in warning[0]
    ), proc.stderr
    assert "warning" not in gridledger("--data", str(SAMPLE), cwd=tmp_path).stderr  # the bundled grid: 0.4 %


def test_fee_guard_numbers():
    params = strategy_params(anchor=Decimal(30000), interval=Decimal(30), quote_per_level=Decimal(100))
    thin = check_fee_step(params, Decimal("0.001"), Decimal("0.001"), Decimal(30000))
    assert (thin.step, thin.round_trip, thin.ok) == (Decimal("0.001"), Decimal("0.002"), False)
    assert "0.100 %" in thin.message() and "0.200 %" in thin.message()
    wide = check_fee_step(
        strategy_params(anchor=Decimal(30000), interval=Decimal(120), quote_per_level=Decimal(100)),
        Decimal("0.001"),
        Decimal("0.001"),
        Decimal(30000),
    )
    assert wide.ok
    # A taker buy (not post-only) pays the larger rate.
    taker = check_fee_step(
        strategy_params(anchor=Decimal(30000), interval=Decimal(90), quote_per_level=Decimal(100), post_only=False),
        Decimal("0.001"),
        Decimal("0.002"),
        Decimal(30000),
    )
    assert taker.round_trip == Decimal("0.004") and not taker.ok


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--data", "nope.csv"], "nope.csv: file not found"),
        (["--data", "bad.csv"], "bad.csv:3: column 5 (close): not a number: 'x'"),
        (["--data", "SAMPLE", "--from", "2027-01-01"], "no candles between 2027-01-01T00:00:00Z"),
        (["--data", "SAMPLE", "--from", "yesterday"], "--from 'yesterday': not a date"),
        (["--data", "SAMPLE", "--from", "2026-01-03", "--to", "2026-01-02"], "--to 2026-01-02 is not after --from"),
        (
            ["--data", "SAMPLE", "--fills-csv", "no/such/f.csv"],
            "--fills-csv no/such/f.csv: the folder no/such does not",
        ),
        (["--config", "nogrid.toml"], "give the market data with --data PATH"),
        (["--config", "offtick.toml", "--data", "SAMPLE"], "anchor 30000.005 is not a multiple of price_step 0.01"),
    ],
)
def test_errors_are_one_line_and_exit_2(tmp_path, args, expected):
    (tmp_path / "bad.csv").write_text(
        "timestamp,open,high,low,close,volume\n1767225600000,1,2,0.5,1.5,1\n1767225660000,1,2,0.5,x,1\n"
    )
    grid = '[grid]\nid = "e1"\nsymbol = "BTC/USDT"\ninterval = "100"\n'
    (tmp_path / "nogrid.toml").write_text(grid + 'anchor = "30000"\n')
    (tmp_path / "offtick.toml").write_text(grid + 'anchor = "30000.005"\n')
    args = [str(SAMPLE) if a == "SAMPLE" else a for a in args]
    line = error_line(gridledger(*args, cwd=tmp_path))
    assert expected in line, line
