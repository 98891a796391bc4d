"""The grid strategy: pure, synchronous decisions from a price and the slots' view.

``decide`` is the entry point; the engine owns I/O, client ids and the ledger, and feeds
post-only rejections and acceptances back through ``StrategyState``.
"""

from gridledger.strategy.actions import (
    NOTE_KINDS,
    Action,
    Cancel,
    Decision,
    LiveOrder,
    Note,
    NoteKind,
    Place,
    SlotView,
    StrategyState,
)
from gridledger.strategy.decide import CANCEL_OUTSIDE_WINDOW, decide
from gridledger.strategy.levels import (
    beyond_window,
    buy_amount,
    check_grid,
    is_dust,
    meets_minimums,
    next_centre,
    opening_levels,
    order_price,
    raw_centre,
    sellable_amount,
    window_floor,
    window_levels,
)
from gridledger.strategy.params import GridParams, MarketRules

__all__ = [
    "CANCEL_OUTSIDE_WINDOW",
    "NOTE_KINDS",
    "Action",
    "Cancel",
    "Decision",
    "GridParams",
    "LiveOrder",
    "MarketRules",
    "Note",
    "NoteKind",
    "Place",
    "SlotView",
    "StrategyState",
    "beyond_window",
    "buy_amount",
    "check_grid",
    "decide",
    "is_dust",
    "meets_minimums",
    "next_centre",
    "opening_levels",
    "order_price",
    "raw_centre",
    "sellable_amount",
    "window_floor",
    "window_levels",
]
