"""Closing orders on a perpetual are reduce-only, opening orders are not (engine/orders.py,
engine/perp.py ``closes_reduce_only``)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from perp_helpers import SYMBOL, T0, FakeUsdm, open_journal, perp_config

from gridledger.config import Config
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import GridDirection, Role, Side
from gridledger.engine.perp import closes_reduce_only
from gridledger.engine.runtime import GridEngine
from gridledger.strategy import Place


class OrderVenue(FakeUsdm):
    def __init__(self) -> None:
        super().__init__()
        self.created: list[dict[str, Any]] = []

    async def create_order(
        self, symbol: str, type: str, side: str, amount: Any, price: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        params = params or {}
        self.created.append({"side": side, "amount": amount, "price": price, **params})
        row = {
            "orderId": 1000 + len(self.created),
            "symbol": "BTCUSDT",
            "status": "NEW",
            "clientOrderId": params["clientOrderId"],
            "side": side.upper(),
            "origQty": str(amount),
            "price": str(price),
            "executedQty": "0",
            "cumQuote": "0",
            "updateTime": T0,
        }
        return {"info": row, "id": str(row["orderId"]), "clientOrderId": params["clientOrderId"]}


def _placed(tmp_path: Path, cfg: Config, *actions: Place) -> list[dict[str, Any]]:
    venue = OrderVenue()
    engine = GridEngine(venue, open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0)

    async def run() -> None:
        for action in actions:
            await engine.orders.place(action)

    asyncio.run(run())
    engine.journal.close()
    return venue.created


def test_a_perp_closing_order_is_reduce_only_and_an_opening_order_is_not(tmp_path: Path) -> None:
    created = _placed(
        tmp_path,
        perp_config(),
        Place(-1, Side.BUY, Role.OPEN, D("29900"), D("0.007"), True),
        Place(-2, Side.SELL, Role.CLOSE, D("29900"), D("0.007"), True),
    )
    assert [c.get("reduceOnly") for c in created] == [None, True]
    assert all(c.get("postOnly") for c in created)


def test_a_spot_closing_order_is_not_reduce_only(tmp_path: Path) -> None:
    from engine_helpers import config

    created = _placed(tmp_path, config(), Place(-2, Side.SELL, Role.CLOSE, D("29900"), D("0.003"), True))
    assert "reduceOnly" not in created[0]


def _grid(direction: GridDirection, pivot: int | None = None) -> GridSpec:
    return GridSpec("g", Instrument.from_symbol(SYMBOL), D("30000"), D("100"), direction=direction, pivot=pivot)


def test_long_and_short_grid_closes_always_reduce() -> None:
    flat = SimpleNamespace(net_position=D(0), position=D(0))
    assert closes_reduce_only(_grid(GridDirection.LONG), flat, Side.SELL, D("1"))  # type: ignore[arg-type]
    assert closes_reduce_only(_grid(GridDirection.SHORT), flat, Side.BUY, D("1"))  # type: ignore[arg-type]


def test_a_neutral_close_is_reduce_only_only_when_it_reduces_the_net_position() -> None:
    grid = _grid(GridDirection.NEUTRAL, pivot=0)
    net_long = SimpleNamespace(net_position=D("0.03"), position=D("0.04"))
    net_short = SimpleNamespace(net_position=D("-0.01"), position=D("0.04"))
    # A long slot's closing sell against a net long: reduces it.
    assert closes_reduce_only(grid, net_long, Side.SELL, D("0.01"))  # type: ignore[arg-type]
    # A short slot's closing buy while the net is long would grow it: not reduce-only.
    assert not closes_reduce_only(grid, net_long, Side.BUY, D("0.01"))  # type: ignore[arg-type]
    assert closes_reduce_only(grid, net_short, Side.BUY, D("0.01"))  # type: ignore[arg-type]
    assert not closes_reduce_only(grid, net_short, Side.BUY, D("0.02"))  # type: ignore[arg-type]
