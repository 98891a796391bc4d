"""Short and neutral perpetual grids with inventory, for the net-position views (issue 11).

An engine over the FakeUsdm venue (no network) whose ledger holds filled opening orders:
the short grid owes 0.006 BTC at level 1 (net -0.006, gross 0.006); the neutral grid (pivot
30000) holds 0.006 at level -1 and owes 0.004 at level 1 (net +0.002, gross 0.010).
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

from ledger_helpers import FILLED, NEW, snap
from perp_helpers import SYMBOL, T0, FakeUsdm, open_journal

from gridledger.config import Config, parse_config
from gridledger.domain.coid import ClientId, encode
from gridledger.domain.types import Role, Side
from gridledger.engine.runtime import GridEngine

PRICE = D("30000")


def grid_config(direction: str, **perp: Any) -> Config:
    grid: dict[str, Any] = {"id": "p1", "symbol": SYMBOL, "anchor": "30000", "interval": "100"}
    grid["direction"] = direction
    if direction == "neutral":
        grid["pivot"] = "30000"
    data: dict[str, Any] = {
        "grid": grid,
        "strategy": {"buy_window": 3, "quote_per_level": "200", "max_open_orders": 10},
        "engine": {"journal_synchronous": "OFF", "rate_limit_per_s": 1000, "call_retry_backoff_s": 0.01},
    }
    if perp:
        data["perp"] = perp
    return parse_config(data)


def opening(level: int, side: Side, filled: str, *, amount: str | None = None, status=FILLED, oid: str = ""):
    """An opening order's snapshot at ``level`` (price = the level's price)."""
    price = str(30000 + 100 * level)
    cid = encode(ClientId("p1", level, side, Role.OPEN, 0))
    return snap(
        cid, oid or f"o{level}", status, filled, side=side, amount=amount or filled, price=price, symbol=SYMBOL, fees=[]
    )


def engine_with_inventory(tmp_path: Path, direction: str, venue: Any = None, **perp: Any) -> GridEngine:
    cfg = grid_config(direction, **perp)
    engine = GridEngine(venue or FakeUsdm(), open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0)
    led = engine.ledger
    if direction == "short":
        led.apply(opening(1, Side.SELL, "0.006"))
    elif direction == "neutral":
        led.apply(opening(-1, Side.BUY, "0.006"))
        led.apply(opening(1, Side.SELL, "0.004"))
    else:
        led.apply(opening(-1, Side.BUY, "0.006"))
    engine.sh.last_price = PRICE
    return engine


def live_opening(engine: GridEngine, level: int, side: Side, amount: str) -> None:
    """A resting (unfilled) opening order, which holds funds (a short grid's sell: margin)."""
    engine.ledger.apply(opening(level, side, "0", amount=amount, status=NEW, oid=f"live{level}"))
    assert engine.ledger.counts["REJECTED"] == 0


__all__ = ["NEW", "PRICE", "engine_with_inventory", "grid_config", "live_opening", "opening"]
