"""``gridledger live`` on a short or neutral grid (issue 11): the status line shows the signed
net position and the direction (live/runner.py), and preflight counts the funds our live
opening orders hold on both sides, as margin at the leverage (live/preflight.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from net_grid_helpers import PRICE, engine_with_inventory, live_opening
from perp_helpers import FakeUsdm

from gridledger.domain.types import Side
from gridledger.live.preflight import PreflightError, preflight
from gridledger.live.runner import _status


class Venue(FakeUsdm):
    def __init__(self, free: str) -> None:
        super().__init__()
        self.free = free

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Any:
        return {"symbol": symbol, "last": "30050"}

    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Any:
        self._call("fetch_balance")
        return {"info": dict(self.account), "USDT": {"free": self.free, "used": "0", "total": "1000"}}


@pytest.mark.parametrize(
    ("direction", "shown"),
    [("short", "position -0.006 net (short grid)  "), ("neutral", "position 0.002 net (neutral grid)  ")],
)
def test_the_status_line_shows_the_signed_net_position(tmp_path: Path, direction: str, shown: str) -> None:
    engine = engine_with_inventory(tmp_path, direction)
    try:
        assert shown in _status(engine, PRICE)
    finally:
        engine.journal.close()


def test_a_long_grid_status_line_is_unchanged(tmp_path: Path) -> None:
    engine = engine_with_inventory(tmp_path, "long")
    try:
        line = _status(engine, PRICE)
    finally:
        engine.journal.close()
    assert "  position 0.006  live orders" in line and "net" not in line


def _preflight(tmp_path: Path, direction: str, free: str, leverage: int, live: tuple[int, Side]) -> list[str]:
    engine = engine_with_inventory(tmp_path, direction, Venue(free), leverage=leverage)
    live_opening(engine, *live, "0.006")
    try:
        return list(asyncio.run(preflight(engine)).lines)
    finally:
        engine.journal.close()


def test_a_short_grid_counts_its_live_opening_sell_as_committed(tmp_path: Path) -> None:
    # The window needs 543.6 USDT; 400 is free and our resting sell of 0.006 at 30200 holds
    # 181.2 of it: enough. Counting only buys would refuse the start.
    lines = _preflight(tmp_path, "short", "400", 1, (2, Side.SELL))
    assert "balance: 400 USDT free, 543.6000 needed for the sell window" in lines


def test_a_short_grid_at_leverage_counts_the_sell_s_margin(tmp_path: Path) -> None:
    # 135.9 needed at 4x; 100 free + 181.2 / 4 = 45.3 held by the resting sell.
    lines = _preflight(tmp_path, "short", "100", 4, (2, Side.SELL))
    assert "balance: 100 USDT free, 135.90000000 needed for the sell window" in lines


def test_a_short_grid_refusal_names_its_opening_orders(tmp_path: Path) -> None:
    with pytest.raises(PreflightError) as info:
        _preflight(tmp_path, "short", "90", 4, (2, Side.SELL))
    assert str(info.value) == (
        "balance: the grid needs 135.90000000 USDT for 3 opening orders of about 200; "
        "90 is free (+45.30000000 in our live opening orders)"
    )


def test_a_perp_s_open_buys_count_their_margin_not_their_notional(tmp_path: Path) -> None:
    # 134.1 needed at 4x; 80 free + the resting buy's margin (0.006 * 29800 / 4 = 44.7) is short
    # of it. Crediting the buy's whole notional (178.8) would pass a start it cannot fund.
    with pytest.raises(PreflightError) as info:
        _preflight(tmp_path, "long", "80", 4, (-2, Side.BUY))
    assert str(info.value) == (
        "balance: the grid needs 134.10000000 USDT for 3 buys of about 200; 80 is free (+44.70000000 in our open buys)"
    )


def test_a_journaled_risk_exit_skips_the_opening_checks_so_the_close_can_finish(tmp_path: Path) -> None:
    # 100 USDT free cannot fund a short grid's window at 1x (543.6 needed): without an exit the
    # start is refused. With a risk exit in effect no opening order is placed again, so the
    # refusal would only stop the exit from closing the inventory it still holds.
    from decimal import Decimal

    from gridledger.store.exits import ExitRecord

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(PreflightError):
        _preflight(tmp_path / "a", "short", "100", 1, (2, Side.SELL))
    engine = engine_with_inventory(tmp_path / "b", "short", Venue("100"), leverage=1)
    try:
        engine.risk.exit = ExitRecord(
            "stop_loss", "price 30500 at or above 30400", Decimal("30500"), 0, Decimal("-0.006"), "close"
        )
        lines = list(asyncio.run(preflight(engine)).lines)
    finally:
        engine.journal.close()
    skipped = "no opening orders, so the fee-step, window and balance checks are skipped"
    assert f"risk exit in effect: stop_loss (close); {skipped}" in lines
    assert not any(line.startswith("balance:") for line in lines)
