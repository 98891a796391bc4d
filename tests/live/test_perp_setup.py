"""Start-up of a perpetual grid (live/perp_setup.py, live/preflight.py): one-way mode,
leverage and margin mode are set and read back; anything unconfirmed stops the start."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from perp_helpers import T0, FakeUsdm, ccxt_position, open_journal, perp_config

from gridledger.engine.runtime import GridEngine
from gridledger.live.perp_setup import PerpSetupError, setup_perp
from gridledger.live.preflight import PreflightError, preflight


class Venue(FakeUsdm):
    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Any:
        return {"symbol": symbol, "last": "30050"}


def _run(tmp_path: Path, venue: Venue, *, dry_run: bool = False, **perp: Any) -> tuple[list[str], Any]:
    cfg = perp_config(**perp)
    engine = GridEngine(venue, open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0, dry_run=dry_run)
    try:
        return asyncio.run(setup_perp(engine, cfg.perp, apply=not dry_run))
    finally:
        engine.journal.close()


def test_settings_are_set_then_verified(tmp_path: Path) -> None:
    venue = Venue()
    venue.positions = [ccxt_position("-0.010", liq="45000.5")]
    lines, state = _run(tmp_path, venue, leverage=5, margin_mode="isolated")
    assert venue.names()[:3] == ["set_position_mode", "set_margin_mode", "set_leverage"]
    assert ("set_position_mode", (False, "BTC/USDT:USDT")) in venue.calls
    assert "fetch_position_mode" in venue.names() and "fetch_margin_mode" in venue.names()
    assert (state.hedged, state.leverage, state.margin_mode) == (False, 5, "isolated")
    assert lines[0] == "perp: one-way position mode, leverage 5x, margin mode isolated (verified)"
    assert "liquidation price 45000.5" in lines[1] and "position -0.01" in lines[1]


def test_a_hedge_mode_account_that_cannot_switch_is_refused(tmp_path: Path) -> None:
    venue = Venue()
    venue.hedged, venue.locked = True, True
    with pytest.raises(PerpSetupError, match="hedge"):
        _run(tmp_path, venue)


def test_a_margin_mode_the_venue_keeps_is_refused(tmp_path: Path) -> None:
    venue = Venue()
    venue.locked = True  # a position exists: Binance refuses to change the margin type
    with pytest.raises(
        PerpSetupError, match="margin mode of BTC/USDT:USDT is cross, \\[perp\\] margin_mode is isolated"
    ):
        _run(tmp_path, venue, margin_mode="isolated")


def test_a_leverage_the_venue_does_not_confirm_is_refused(tmp_path: Path) -> None:
    class Stubborn(Venue):
        async def set_leverage(
            self, leverage: int, symbol: str | None = None, params: dict[str, Any] | None = None
        ) -> Any:
            self._call("set_leverage", leverage, symbol)
            return {"symbol": "BTCUSDT", "leverage": 20}

    with pytest.raises(PerpSetupError, match="leverage of BTC/USDT:USDT is 20x, \\[perp\\] leverage is 3x"):
        _run(tmp_path, Stubborn(), leverage=3)


def test_a_dry_run_sets_nothing_and_says_what_it_would_set(tmp_path: Path) -> None:
    venue = Venue()
    lines, _ = _run(tmp_path, venue, dry_run=True, leverage=3)
    assert not any(n.startswith("set_") for n in venue.names())
    assert lines[0].startswith("perp (dry run, would set): leverage of BTC/USDT:USDT is 20x")


def test_preflight_stops_with_exit_code_2_before_anything_is_placed(tmp_path: Path) -> None:
    venue = Venue()
    venue.hedged, venue.locked = True, True
    cfg = perp_config()
    engine = GridEngine(venue, open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0)
    try:
        with pytest.raises(PreflightError) as info:
            asyncio.run(preflight(engine))
    finally:
        engine.journal.close()
    assert info.value.code == 2 and "one-way" in str(info.value)
    assert "create_order" not in venue.names()


def test_preflight_shows_the_perp_lines_and_sizes_margin_by_leverage(tmp_path: Path) -> None:
    venue = Venue()
    cfg = perp_config(leverage=4)
    engine = GridEngine(venue, open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0)
    try:
        report = asyncio.run(preflight(engine))
    finally:
        engine.journal.close()
    text = "\n".join(report.lines)
    assert "contract precision: amount step 0.001, price step 0.1; limits: min amount 0.001, min notional 100" in text
    assert "leverage 4x, margin mode cross (verified)" in text
    assert "margin ratio 0 (opening orders pause above 0.5)" in text
    # 3 buys (0.006 at 29900, 29800, 29700: 536.4 USDT of notional) at 4x leverage
    assert "balance: 1000 USDT free, 134.10000000 needed" in text
