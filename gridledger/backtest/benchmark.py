"""What a grid's result is compared with, by the grid's direction (issue 11).

A long grid is compared with buying at the first price and holding (every report so far).
A short grid's passive twin is the opposite: selling at the first price and holding the
short, which gains as the price falls. A neutral grid starts flat at its pivot, long below
it and short above it: there is no one position it would otherwise hold, so the benchmark
is left out, and the report says why rather than print a long-only figure beside it.

The figures are float64 for display only, as the rest of the figures over time.
"""

from __future__ import annotations

from typing import Any

NEUTRAL_REASON = (
    "left out: a neutral grid starts flat at its pivot (long below it, short above it), so "
    "there is no one position to hold; its total PnL is compared with staying flat (0)"
)


def _r(x: float, places: int = 2) -> str:
    return f"{x:.{places}f}"


def hold_return(direction: str, first: float, last: float) -> float | None:
    """The return of holding the grid's passive position from ``first`` to ``last``: long
    for a long grid, short for a short grid, None for a neutral grid (see the module)."""
    if direction == "neutral":
        return None
    move = last / first - 1 if first > 0 else 0.0
    return -move if direction == "short" else move


def hold_fields(direction: str, first: float, last: float, capital: float, capital_key: str) -> dict[str, Any]:
    """The report's ``buy_and_hold`` object (the key every report and the sweep read).

    A long grid's is exactly as before: ``return_pct`` and the PnL on ``capital_key``. A short
    grid's adds ``holding: "short"``; a neutral grid's figures are null with ``omitted``."""
    ret = hold_return(direction, first, last)
    if ret is None:
        return {"return_pct": None, capital_key: None, "holding": None, "omitted": NEUTRAL_REASON}
    fields: dict[str, Any] = {"return_pct": _r(ret * 100, 3), capital_key: _r(ret * capital)}
    if direction == "short":
        fields["holding"] = "short"
    return fields


def hold_row(doc: dict[str, Any], capital_key: str, capital_words: str) -> tuple[str, str]:
    """The report's table row for ``doc["buy_and_hold"]``: label and text."""
    bh = doc["buy_and_hold"]
    if bh.get("omitted"):
        return ("hold benchmark", str(bh["omitted"]))
    label = "sell and hold (short)" if bh.get("holding") == "short" else "buy and hold"
    return (label, f"{bh['return_pct']} % ({bh[capital_key]} on {capital_words})")


def opening_filled_label(direction: str | None) -> str:
    """The row for the share of time with inventory held and no opening order resting."""
    if direction == "short":
        return "every opening sell filled"
    if direction == "neutral":
        return "every opening order filled"
    return "every buy filled"


def level_unrealized(row: dict[str, Any], qty: float, cost: float, last_price: float) -> float:
    """A level's unrealized PnL at ``last_price`` (float, for the plot): a long slot gains as
    the price rises; a short slot (``row["direction"] == "short"``, set for short and neutral
    grids by ``ledger_state``) owes ``qty`` and its basis is what the opening sells brought in,
    so it gains as the price falls."""
    if row.get("direction") == "short":
        return cost - qty * last_price
    return qty * last_price - cost


__all__ = ["NEUTRAL_REASON", "hold_fields", "hold_return", "hold_row", "level_unrealized", "opening_filled_label"]
