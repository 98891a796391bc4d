"""Point a notifier at a running engine: its event bus, its figures, its market's precision."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from gridledger.domain.numbers import ZERO
from gridledger.notify.notifier import Notifier, Summary

if TYPE_CHECKING:
    from gridledger.engine.runtime import GridEngine


def engine_summary(engine: GridEngine) -> Summary:
    """Realized and unrealized PnL (at the last price), position and round trips."""
    led = engine.ledger
    price = engine.last_price
    unrealized: Decimal | None = None
    if price is not None:
        unrealized = sum((s.state.qty * price - s.state.cost for s in led.slots.values()), ZERO)
    return Summary(
        realized_pnl=led.realized_pnl,
        unrealized_pnl=unrealized,
        position=led.position,
        round_trips=sum(s.state.round_trips for s in led.slots.values()),
        price=price,
    )


def watch_engine(notifier: Notifier, engine: GridEngine) -> None:
    """Watch ``engine`` (call again with each restarted engine of a session)."""
    notifier.set_sources(
        summary=lambda: engine_summary(engine),
        price_step=lambda: engine.rules.price_step if engine.rules is not None else None,
    )
    notifier.attach(engine.events)
