"""The API's view of a perpetual grid: funding per asset, position, liquidation and margin.

Funding is the grid's, not a slot's (ledger/funding.py); the margin reading is the venue's
latest answer (engine/perp.py), with the time it was read. ``None`` for a spot grid.
"""

from __future__ import annotations

from typing import Any

from gridledger.domain.numbers import fmt
from gridledger.engine.runtime import GridEngine

__all__ = ["perp_view"]


def perp_view(engine: GridEngine) -> dict[str, Any] | None:
    if engine.margin is None and engine.funding is None:
        return None
    perp = engine.config.perp
    doc: dict[str, Any] = {
        "leverage": perp.leverage,
        "margin_mode": perp.margin_mode,
        "max_margin_ratio": fmt(perp.max_margin_ratio),
        "funding": {},
        "funding_payments": 0,
        "venue_position": None,
        "liquidation_price": None,
        "margin_ratio": None,
        "margin_paused": False,
        "read_at_ms": None,
    }
    if engine.funding is not None:
        doc["funding"] = {a: fmt(v) for a, v in sorted(engine.funding.totals().items())}
        doc["funding_payments"] = len(engine.funding.book) if engine.funding.book is not None else 0
    guard = engine.margin
    if guard is not None:
        doc["margin_paused"] = guard.paused
        reading = guard.reading
        if reading is not None:
            doc["venue_position"] = fmt(reading.position)
            doc["liquidation_price"] = fmt(reading.liquidation_price)
            doc["margin_ratio"] = fmt(reading.margin_ratio)
            doc["read_at_ms"] = reading.at_ms
    return doc
