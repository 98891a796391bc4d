"""A plain-data view of the ledger's state, for JSON output and reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.domain.numbers import fmt
from gridledger.domain.types import GridDirection
from gridledger.ledger.ledger import Ledger


def _origin(source_kind: str) -> str:
    """Where a piece of evidence came from, in the words the reports use."""
    head = source_kind.split(":", 1)[0]
    return {"ws": "stream", "rest": "rest"}.get(head, "other")


def duplicates_by_origin(counters: Mapping[tuple[str, str], int]) -> dict[str, int]:
    """DUPLICATE outcomes split by origin (issue 7 item 18).

    ``stream``: the venue delivered evidence again (copies, replays after a reconnect);
    ``rest``: a REST read (reconciliation, order queries) re-read state already applied;
    ``other``: files given to ``replay`` and anything else. All of them changed nothing (R10).
    """
    split = {"stream": 0, "rest": 0, "other": 0}
    for (outcome, source), n in counters.items():
        if outcome == "DUPLICATE":
            split[_origin(source)] += n
    return split


def ledger_state(ledger: Ledger, counters: Mapping[tuple[str, str], int] | None = None) -> dict[str, Any]:
    """Final state: decimals as strings (exact), slots in level order.

    ``counters`` (the journal's outcome counts per source) adds ``duplicates_by_origin``.
    """
    grid = ledger.grid
    slots = []
    for level in sorted(ledger.slots):
        slot = ledger.slots[level]
        figures = slot.state
        bound = slot.bound
        if figures.qty == 0 and figures.realized == 0 and not figures.fees and bound is None and figures.cost == 0:
            continue
        slots.append(
            {
                "level": level,
                "price": fmt(grid.level_price(level)),
                "qty": fmt(figures.qty),
                "cost": fmt(figures.cost),
                "realized_pnl": fmt(figures.realized),
                "fees": {a: fmt(v) for a, v in figures.fees},
                "round_trips": figures.round_trips,
                "status": slot.status.value,
                "bound_order": bound.client_id if bound is not None else None,
            }
        )
    state: dict[str, Any] = {
        "grid_id": grid.grid_id,
        "symbol": grid.symbol,
        "anchor": fmt(grid.anchor),
        "interval": fmt(grid.interval),
        "position": fmt(ledger.position),
        "realized_pnl": fmt(ledger.realized_pnl),
        "fees": {a: fmt(v) for a, v in ledger.fees().items()},
        "round_trips": sum(s.state.round_trips for s in ledger.slots.values()),
        "slots": slots,
        "live_orders": sorted(r.client_id for r in ledger.live_orders()),
        "parked": len(list(ledger.parked())),
        "anomalies": list(ledger.anomalies),
        "outcomes": {k: v for k, v in sorted(ledger.counts.items())},
    }
    if grid.direction is not GridDirection.LONG:
        # Issue 11: a short slot's qty is owed base; the venue's one-way position is the net.
        # Only for short and neutral grids, so a long grid's state reads exactly as before.
        state["direction"] = grid.direction.value
        state["pivot"] = None if grid.pivot is None else fmt(grid.level_price(grid.pivot))
        state["net_position"] = fmt(ledger.net_position)
        for row in slots:
            row_level = row["level"]
            assert isinstance(row_level, int)  # set from the slot's key above
            level_direction = grid.level_direction(row_level)
            row["direction"] = None if level_direction is None else level_direction.value
    if counters is not None:
        state["duplicates_by_origin"] = duplicates_by_origin(counters)
    return state
