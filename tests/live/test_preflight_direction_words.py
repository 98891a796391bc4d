"""Preflight's window line names what the window really places (live/preflight.py): a long
grid's buys (the words unchanged), a short grid's opening sells, a neutral grid's buys below
the pivot and opening sells above it; a short slot's closing buy is checked where it goes,
one level down."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from net_grid_helpers import engine_with_inventory, grid_config
from perp_helpers import T0, FakeUsdm, open_journal

from gridledger.engine.runtime import GridEngine
from gridledger.live.preflight import PreflightError, preflight


class Venue(FakeUsdm):
    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Any:
        return {"symbol": symbol, "last": "30050"}

    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Any:
        self._call("fetch_balance")
        return {"info": dict(self.account), "USDT": {"free": "100000", "used": "0", "total": "100000"}}


def _window_line(tmp_path: Path, direction: str) -> str:
    engine = engine_with_inventory(tmp_path, direction, Venue())
    try:
        lines = list(asyncio.run(preflight(engine)).lines)
    finally:
        engine.journal.close()
    found = [line for line in lines if "window would place" in line]
    assert len(found) == 1, lines
    return found[0]


def test_a_long_grid_says_buys_as_before(tmp_path: Path) -> None:
    # The window is sized on an empty grid: every level of it (live/preflight.py _check_window).
    line = _window_line(tmp_path, "long")
    assert (
        line == "price 30050: the buy window would place 3 buys, 0.006 at 29900.0, 0.006 at 29800.0, 0.006 at 29700.0"
    )


def test_a_short_grid_says_opening_sells(tmp_path: Path) -> None:
    line = _window_line(tmp_path, "short")
    assert line.startswith("price 30050: the sell window would place 3 opening sells, "), line
    assert "buy" not in line
    assert " at 30100" in line and " at 30300" in line and "29900" not in line  # above the price


def test_a_neutral_grid_says_both_sides(tmp_path: Path) -> None:
    line = _window_line(tmp_path, "neutral")
    assert line.startswith("price 30050: the opening window would place "), line
    assert "3 buys below the pivot (" in line and "3 opening sells above it (" in line, line
    buys, sells = line.split("below the pivot (")[1].split(") and ")
    assert "29900" in buys and "29700" in buys and "30100" not in buys
    assert "30100" in sells and "30300" in sells and "29900" not in sells


class FarVenue(Venue):
    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Any:
        return {"symbol": symbol, "last": "32600"}


def test_a_short_slot_s_closing_buy_is_checked_one_level_down(tmp_path: Path) -> None:
    # Sells of 0.003 at 34000 (102 USDT) clear the 100 USDT minimum notional; their closing
    # buys one level DOWN, at 33000, would be 99: every round trip would leave dust. Checking
    # the close one level up (35000, 105: a long slot's) would pass this start.
    cfg = grid_config("short")
    grid = cfg.grid.model_copy(update={"interval": D("1000")})
    strategy = cfg.strategy.model_copy(update={"quote_per_level": D("102"), "buy_window": 1})
    cfg = cfg.model_copy(update={"grid": grid, "strategy": strategy})
    engine = GridEngine(FarVenue(), open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0)
    try:
        with pytest.raises(PreflightError) as info:
            asyncio.run(preflight(engine))
    finally:
        engine.journal.close()
    assert "the sell of 0.003 at 34000" in str(info.value) and "its closing buy at 33000" in str(info.value)
