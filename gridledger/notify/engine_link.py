"""Point a notifier at a running engine: its event bus, its figures, its market's precision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridledger.ledger.position_view import position_figures, signed_unrealized
from gridledger.notify.notifier import Notifier, Summary

if TYPE_CHECKING:
    from gridledger.engine.runtime import GridEngine


def engine_summary(engine: GridEngine) -> Summary:
    """Realized and unrealized PnL (at the last price), position and round trips."""
    led = engine.ledger
    price = engine.last_price
    # Per slot's direction (issue 11): a short slot gains as the price falls.
    unrealized = None if price is None else signed_unrealized(engine.grid, led, price)
    figures = position_figures(engine.grid, led)
    return Summary(
        realized_pnl=led.realized_pnl,
        unrealized_pnl=unrealized,
        position=figures.shown,  # the signed net on a short or neutral grid; a long grid's gross
        round_trips=sum(s.state.round_trips for s in led.slots.values()),
        price=price,
        direction=figures.direction.value if figures.directional else None,
    )


def watch_engine(notifier: Notifier, engine: GridEngine) -> None:
    """Watch ``engine`` (call again with each restarted engine of a session)."""
    notifier.set_sources(
        summary=lambda: engine_summary(engine),
        price_step=lambda: engine.rules.price_step if engine.rules is not None else None,
    )
    notifier.attach(engine.events)
