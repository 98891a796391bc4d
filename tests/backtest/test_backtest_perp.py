"""Backtests on a linear perpetual: --market perp with each direction; the account's cash and
net position equal what the ledger implies, exactly."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

from gridledger.backtest.perp_account import PerpAccount
from gridledger.backtest.run import Backtest
from gridledger.backtest.setup import setup_from_config
from gridledger.config import load_config
from gridledger.marketdata import load_market_data
from gridledger.paper.perp import perp_session_config
from gridledger.paper.perp_audit import implied_cash, net_position
from gridledger.paper.settings import paper_settings

D = Decimal
SAMPLE = Path(str(files("gridledger") / "data" / "btcusdt-1m-sample.csv"))
BUNDLED = Path(str(files("gridledger") / "data" / "paper.toml"))


def _backtest(direction: str, leverage: int = 2) -> Backtest:
    cfg = load_config(BUNDLED)
    ps = paper_settings(dict(cfg.paper))
    cfg = perp_session_config(cfg, market="perp", direction=direction, leverage=leverage, start_price=D("30000"))
    setup = setup_from_config(cfg, ps)
    return Backtest(setup, load_market_data(SAMPLE, ps.price_step)).run()


@pytest.mark.parametrize("direction", ["long", "short", "neutral"])
def test_the_perp_account_agrees_with_the_ledger_exactly(direction: str) -> None:
    bt = _backtest(direction)
    account = bt.account
    assert isinstance(account, PerpAccount)
    assert bt.fills, "the grid traded"
    assert account.position == net_position(bt.ledger) == bt.qty
    assert account.cash == implied_cash(bt.ledger, D("10000"), D(0))
    if direction == "short":
        assert account.position <= 0
    if direction == "long":
        assert account.position >= 0


def test_neutral_trades_both_sides_of_the_pivot() -> None:
    bt = _backtest("neutral")
    levels = {f.level for f in bt.fills}
    assert any(k < 0 for k in levels) and any(k > 0 for k in levels)
    assert 0 not in levels


def test_unrealized_of_a_short_grid_gains_when_the_price_falls() -> None:
    bt = _backtest("short")
    last = bt.last_price
    assert last is not None
    expected = sum((s.state.cost - s.state.qty * last for s in bt.ledger.slots.values()), D(0))
    assert bt.unrealized() == expected


def test_margin_refuses_opening_orders_beyond_the_wallet() -> None:
    cfg = load_config(BUNDLED)
    ps = paper_settings({**dict(cfg.paper), "balances": {"USDT": "300"}})
    cfg = perp_session_config(cfg, market="perp", direction="long", leverage=1, start_price=D("30000"))
    bt = Backtest(setup_from_config(cfg, ps), load_market_data(SAMPLE, ps.price_step)).run()
    assert bt.counters.refused_balance > 0  # 6 levels x 150 USDT at 1x need 900 of margin
    assert bt.account.cash == implied_cash(bt.ledger, D("300"), D(0))


def test_cli_backtest_market_perp_short() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridledger.cli",
            "backtest",
            "--data",
            str(SAMPLE),
            "--market",
            "perp",
            "--direction",
            "short",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "BTC/USDT:USDT grid paper1 backtest" in done.stdout


def test_cli_backtest_short_on_spot_is_one_line_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "backtest", "--data", str(SAMPLE), "--direction", "short"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "grid.direction" in done.stderr and "Traceback" not in done.stderr
