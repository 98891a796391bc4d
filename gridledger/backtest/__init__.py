"""Backtests: the grid's ``decide()`` and the exactly-once ``Ledger`` over recorded market data.

``run_backtest(cfg, data)`` runs one; ``Backtest`` (``backtest/run.py``) documents the
intra-candle path and the fill rule; ``check_fee_step`` is the fee guard.
"""

from __future__ import annotations

from gridledger.backtest.feeguard import DEFAULT_MARGIN, FeeCheck, check_fee_step
from gridledger.backtest.run import Backtest, Fill
from gridledger.backtest.setup import BacktestSetup, setup_from_config
from gridledger.config import Config
from gridledger.marketdata.series import MarketData


def run_backtest(cfg: Config, data: MarketData, *, skip: bool = True) -> Backtest:
    """Run the config's grid over ``data`` (read with the market's price step)."""
    return Backtest(setup_from_config(cfg), data, skip=skip).run()


__all__ = [
    "DEFAULT_MARGIN",
    "Backtest",
    "BacktestSetup",
    "FeeCheck",
    "Fill",
    "check_fee_step",
    "run_backtest",
    "setup_from_config",
]
