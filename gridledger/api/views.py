"""The API's read models: plain JSON-ready dicts built from the engine, decimals as strings.

Built on request from the ledger as it stands (single-threaded asyncio: nothing moves while
a view is built), so a status read right after a stop equals the journal's replay.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from gridledger.api.perp_views import perp_view
from gridledger.domain.numbers import ZERO, fmt
from gridledger.domain.types import Direction, GridDirection
from gridledger.engine.runtime import GridEngine
from gridledger.ledger.position_view import position_figures
from gridledger.ledger.records import OrderRecord

AROUND_DEFAULT = 10  # levels each side of the price shown by /levels
AROUND_MAX = 200


def unrealized(engine: GridEngine, price: Decimal | None) -> Decimal:
    """Inventory marked at ``price``: what closing every slot there would realize (before fees)."""
    if price is None:
        return ZERO
    grid = engine.grid
    # Per slot: a neutral grid has both directions. A short slot gains as the price falls.
    return sum(
        (
            (-1 if grid.level_direction(s.level) is Direction.SHORT else 1) * (s.state.qty * price - s.state.cost)
            for s in engine.ledger.slots.values()
        ),
        ZERO,
    )


def order_view(rec: OrderRecord) -> dict[str, Any]:
    return {
        "client_id": rec.client_id,
        "order_id": rec.order_id,
        "level": rec.level,
        "side": rec.side.value,
        "role": rec.role.value,
        "price": fmt(rec.price),
        "amount": fmt(rec.amount),
        "filled": fmt(rec.filled),
        "status": rec.status.value if rec.status is not None else "SENT",
        "acknowledged": rec.order_id is not None,
    }


def status_view(engine: GridEngine, *, started_ms: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    led = engine.ledger
    price = engine.last_price
    upnl = unrealized(engine, price)
    realized = led.realized_pnl
    drift = engine.drift
    last = engine.reconciler.last_reconcile
    now = engine.sh.now_ms()
    stats = engine.stats
    doc: dict[str, Any] = {
        "venue": engine.ex.id,
        "symbol": engine.symbol,
        "grid_id": engine.grid.grid_id,
        "now_ms": now,
        "price": fmt(price),
        "position": fmt(led.position),
        "realized_pnl": fmt(realized),
        "unrealized_pnl": fmt(upnl),
        "total_pnl": fmt(realized + upnl),
        "fees": {a: fmt(v) for a, v in led.fees().items()},
        "live_orders": len(led.live_orders()),
        "paused": engine.paused,
        "pause_reasons": engine.pause_reasons,
        "ready": engine.ready,
        "drift": {
            "base_drift": fmt(drift.base_drift),
            "missing_on_exchange": list(drift.missing_on_exchange),
            "ok": drift.ok,
            "paused": engine.drift_paused,
        },
        "last_reconcile": None if last is None else {"ts_ms": last[0], "reason": last[1]},
        "streams": {"reconnects": stats.reconnects, "ticks": stats.ticks, "bad_messages": stats.bad_messages},
        "anomalies": list(led.anomalies),
        # A [risk] exit the grid took (engine/exits.py): kind, detail, price, ts_ms, position, phase.
        "risk_exit": None if engine.risk_exit is None else engine.risk_exit.as_dict(),
        "perp": perp_view(engine),  # perpetual grids: funding, liquidation price, margin ratio (else null)
        "uptime_s": max(0, now - started_ms) // 1000,
    }
    # Short and neutral grids (issue 11): "position" stays the gross inventory (as in the
    # ledger report); the signed net position and the direction are added beside it.
    doc.update(position_figures(engine.grid, led).fields(fmt))
    if extra:
        doc.update(extra)
    return doc


def levels_view(engine: GridEngine, around: int = AROUND_DEFAULT) -> dict[str, Any]:
    """Every level the ledger holds something at, plus ``around`` levels each side of the price."""
    grid = engine.grid
    led = engine.ledger
    levels = {lvl for lvl, s in led.slots.items() if s.state.qty or s.state.cost or s.state.realized or s.bound}
    current: int | None = None
    price = engine.last_price
    if price is not None:
        # The level at or below the price: the first buy of a long grid sits under it.
        current = int(((price - grid.anchor) / grid.interval).to_integral_value(rounding=ROUND_FLOOR))
        levels.update(range(current - around + 1, current + around + 1))
    rows = []
    for level in sorted(levels, reverse=True):
        slot = led.slots.get(level)
        state = slot.state if slot is not None else None
        bound = slot.bound if slot is not None else None
        rows.append(
            {
                "level": level,
                "price": fmt(grid.level_price(level)),
                "qty": fmt(state.qty if state else ZERO),
                "cost": fmt(state.cost if state else ZERO),
                "realized_pnl": fmt(state.realized if state else ZERO),
                "round_trips": state.round_trips if state else 0,
                "status": slot.status.value if slot is not None else "FREE",
                "bound_order": order_view(bound) if bound is not None else None,
            }
        )
        if grid.direction is not GridDirection.LONG:
            # Short and neutral grids (issue 11): a row's qty is held (long) or owed (short);
            # a neutral grid's pivot level holds no slot (None). Long grids' rows stay as before.
            level_direction = grid.level_direction(level)
            rows[-1]["direction"] = None if level_direction is None else level_direction.value
    return {"price": fmt(price), "current_level": current, "interval": fmt(grid.interval), "levels": rows}


def orders_view(engine: GridEngine) -> dict[str, Any]:
    recs = sorted(engine.ledger.live_orders(), key=lambda r: (r.price or ZERO, r.client_id), reverse=True)
    return {"orders": [order_view(r) for r in recs]}


def counters_view(engine: GridEngine) -> dict[str, Any]:
    return {
        "outcomes": dict(sorted(engine.ledger.counts.items())),
        "engine": engine.stats.as_dict(),
        "faults": {
            "reconciles_failed": engine.stats.reconciles_failed,
            "rejected_orders": engine.stats.rejected,
            "unknown_creates": engine.stats.unknown_creates,
            "reconnects": engine.stats.reconnects,
            "drift_pauses": engine.stats.drift_pauses,
            "bad_messages": engine.stats.bad_messages,
            "twin_evidence": engine.stats.twin_evidence,
            "anomalies": len(engine.ledger.anomalies),
        },
    }
