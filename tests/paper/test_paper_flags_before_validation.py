"""--market/--direction/--leverage are applied to the config file's raw settings BEFORE its one
validation (gridledger/paper/perp.py load_session_config): a [risk] key that only fits the
flagged direction is accepted by paper and backtest; a stop on the wrong side for the flagged
direction is refused in one line naming the key (exit 2); without flags nothing changes."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

from gridledger.config import ConfigError, load_config
from gridledger.paper.perp import apply_session_flags, load_session_config

D = Decimal
SAMPLE = Path(str(files("gridledger") / "data" / "btcusdt-1m-sample.csv"))

# A long spot grid; the [risk] table is filled in per test.
BASE = """
[grid]
id = "flags1"
symbol = "BTC/USDT"
anchor = "30000"
interval = "40"
{grid_extra}
[strategy]
buy_window = 4
quote_per_level = "150"
max_open_orders = 16

[engine]
journal_synchronous = "NORMAL"
reconcile_every_s = 300

[paper]
duration = "10m"
seed = 5
tick_ms = 2000
start_price = "30000"
maker_fee = "0.0002"
taker_fee = "0.0005"

[paper.balances]
USDT = "10000"

[risk]
{risk}
"""

NEUTRAL_ONLY = 'stop_loss_price_above = "36000"\nstop_loss_price = "24000"\n'
WRONG_SIDE = 'stop_loss_price_above = "29000"\n'  # below the neutral pivot (30000)


def _write(tmp: Path, risk: str, grid_extra: str = "") -> Path:
    path = tmp / "long.toml"
    path.write_text(BASE.format(risk=risk, grid_extra=grid_extra))
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridledger.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def _one_line_exit_2(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_paper_runs_a_long_file_with_a_neutral_stop_under_direction_neutral(tmp_path: Path) -> None:
    _write(tmp_path, NEUTRAL_ONLY)
    done = _cli("paper", "-c", "long.toml", "--market", "perp", "--direction", "neutral", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "BTC/USDT:USDT grid flags1" in out
    assert "direction neutral (pivot 30000)" in out
    assert "ledger vs exchange: MATCH" in out


def test_backtest_accepts_a_long_file_with_a_neutral_stop_under_direction_neutral(tmp_path: Path) -> None:
    _write(tmp_path, NEUTRAL_ONLY)
    done = _cli(
        "backtest", "-c", "long.toml", "--data", str(SAMPLE), "--market", "perp", "--direction", "neutral", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "BTC/USDT:USDT grid flags1 backtest" in done.stdout


@pytest.mark.parametrize("command", ["paper", "backtest"])
def test_a_wrong_side_stop_for_the_flagged_direction_is_refused_naming_the_key(tmp_path: Path, command: str) -> None:
    _write(tmp_path, WRONG_SIDE)
    data = ("--data", str(SAMPLE)) if command == "backtest" else ()
    done = _cli(command, "-c", "long.toml", *data, "--market", "perp", "--direction", "neutral", cwd=tmp_path)
    line = _one_line_exit_2(done)
    # Checked against the flagged neutral grid (its pivot), not the file's long one.
    assert "with --market perp --direction neutral" in line
    assert "risk.stop_loss_price_above: must be above the pivot 30000 (got 29000)" in line


@pytest.mark.parametrize("command", ["paper", "backtest"])
def test_without_flags_the_neutral_stop_in_a_long_file_is_still_refused(tmp_path: Path, command: str) -> None:
    """Guard: behaviour without the flags is unchanged (this passed before the fix too)."""
    _write(tmp_path, NEUTRAL_ONLY)
    data = ("--data", str(SAMPLE)) if command == "backtest" else ()
    line = _one_line_exit_2(_cli(command, "-c", "long.toml", *data, cwd=tmp_path))
    assert "risk.stop_loss_price_above: only for neutral grids; a long grid has one stop_loss_price" in line


def test_load_session_config_checks_risk_against_the_flagged_grid(tmp_path: Path) -> None:
    path = _write(tmp_path, NEUTRAL_ONLY)
    cfg = load_session_config(path, market="perp", direction="neutral", leverage=3, start_price=lambda _: D("30011"))
    assert cfg.grid.symbol == "BTC/USDT:USDT" and cfg.grid.direction == "neutral"
    assert cfg.grid.pivot == D("30000")  # the level nearest the start price
    assert cfg.perp.leverage == 3
    assert cfg.risk.stop_loss_price_above == D("36000")


def test_without_flags_load_session_config_is_load_config(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    assert load_session_config(
        path, market=None, direction=None, leverage=None, start_price=lambda _: D(0)
    ) == load_config(path)
    bad = _write(tmp_path, NEUTRAL_ONLY)
    with pytest.raises(ConfigError) as no_flags:
        load_config(bad)
    with pytest.raises(ConfigError) as via:
        load_session_config(bad, market=None, direction=None, leverage=None, start_price=lambda _: D(0))
    assert str(via.value) == str(no_flags.value)


@pytest.mark.parametrize(
    ("grid_extra", "risk", "key"),
    [
        ('anchor_typo = "1"\n', "", "grid.anchor_typo: unknown key"),  # invalid whatever the flags
        ('pivot = "30000"\n', "", "grid.pivot: only a neutral grid takes a pivot"),  # a long file's pivot stays refused
        ("", 'take_profit_price = "31000"\n', "risk.take_profit_price: a neutral grid"),
    ],
)
def test_a_file_invalid_for_the_flagged_grid_stays_refused_naming_the_key(
    tmp_path: Path, grid_extra: str, risk: str, key: str
) -> None:
    path = _write(tmp_path, risk, grid_extra)
    direction = "short" if "pivot" in grid_extra else "neutral"
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_session_config(path, market="perp", direction=direction, leverage=None, start_price=lambda _: D("30000"))


def test_a_neutral_file_flagged_long_drops_its_pivot_and_asks_no_start_price() -> None:
    raw = {"grid": {"id": "g", "symbol": "BTC/USDT:USDT", "anchor": "30000", "interval": "40", "direction": "neutral"}}
    raw["grid"]["pivot"] = "30000"

    def no_price(_: object) -> Decimal:
        raise AssertionError("asked for a start price")

    flagged = apply_session_flags(raw, market=None, direction="long", leverage=2, start_price=no_price)
    assert "pivot" not in flagged["grid"] and flagged["grid"]["direction"] == "long"
    assert flagged["perp"] == {"leverage": 2}
    assert raw["grid"]["pivot"] == "30000"  # the caller's settings are not changed
