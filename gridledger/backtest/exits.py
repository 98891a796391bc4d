"""Risk exits in the backtest: the engine's exit (engine/exits.py) on the backtest's venue.

The same pure check (``strategy/risk.py``) at every price the loop decides at; on a trigger
every resting order is cancelled and each slot holding inventory gets one closing order, a
marketable limit within ``exit_slippage`` of the price, which the backtest's venue fills at
once as taker at the last price (its fill rule for crossing orders). From then on nothing is
decided: the rest of the data is skipped, the report says why the grid stopped.

``max_position`` filters ``decide()``'s opening orders exactly as the engine does
(``cap_opening``). ``max_drawdown`` needs the equity at every price, so a backtest with it
decides at every price of the path (no event skipping; slower on long data).

``BacktestExits`` is a mixin of ``Backtest`` (``backtest/run.py``), which owns the state.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from gridledger.backtest.account import RestingOrder
from gridledger.backtest.band import NEVER_HIGH, NEVER_LOW
from gridledger.backtest.setup import BacktestSetup
from gridledger.domain.numbers import fmt
from gridledger.domain.types import Direction, Role
from gridledger.ledger.ledger import Ledger
from gridledger.strategy import (
    Cancel,
    Decision,
    LiveOrder,
    MarketRules,
    Place,
    SlotView,
    meets_minimums,
    sellable_amount,
)
from gridledger.strategy.risk import GridKind, cap_opening, check_exit, exit_price, exposure

CANCEL_REASON = "risk exit"


class BacktestExits:
    """The exit state and steps over ``Backtest``'s ledger, views and resting orders."""

    setup: BacktestSetup
    ledger: Ledger
    rules: MarketRules
    views: dict[int, SlotView]
    live: dict[str, RestingOrder]
    qty: Decimal
    cost: Decimal
    realized: Decimal
    _step: Decimal
    risk_exit: dict[str, Any] | None
    _peak: Decimal | None

    def _cancel(self, action: Cancel, t: int) -> None:  # pragma: no cover - SimulatedVenue defines it
        raise NotImplementedError

    def _place(self, action: Place, p: int, price: Decimal, t: int) -> None:  # pragma: no cover
        raise NotImplementedError

    @property
    def _kind(self) -> GridKind:
        value = self.setup.grid.direction.value
        return "short" if value == "short" else "neutral" if value == "neutral" else "long"

    def _equity(self, price: Decimal) -> Decimal:
        if self._kind == "long":
            return self.realized - self.cost + self.qty * price  # the running totals (run.py _refresh)
        grid = self.setup.grid
        rows = [
            (grid.level_direction(lv) is not Direction.SHORT, s.state.qty, s.state.cost, s.state.realized)
            for lv, s in self.ledger.slots.items()
        ]
        return exposure(rows).equity(price)

    def _capped(self, decision: Decision) -> Decision:
        cap = self.setup.risk.max_position
        if cap is None:
            return decision
        live = [LiveOrder(o.client_id, o.side, o.role, o.price, o.amount, Decimal(0)) for o in self.live.values()]
        return cap_opening(decision, cap, self.ledger.net_position, live)

    def _exit_step(self, p: int, price: Decimal, t: int) -> bool:
        """True when the exit owns the grid at this price (``decide()`` must not run)."""
        limits = self.setup.risk
        if self.risk_exit is None:
            if not limits.exits:
                return False
            equity = peak = None
            if limits.max_drawdown is not None:
                equity = self._equity(price)
                if self._peak is None or equity > self._peak:
                    self._peak = equity
                peak = self._peak
            reason = check_exit(limits, self._kind, price, equity, peak)
            if reason is None:
                return False
            self.risk_exit = {
                "kind": reason.kind,
                "detail": reason.detail,
                "price": fmt(price),
                "ts_ms": t,
                "position": fmt(self.ledger.net_position),
                "phase": "cancel",
            }
        if self.risk_exit["phase"] == "done":
            return True
        for client_id, order in list(self.live.items()):
            if order.role is Role.OPEN or self.risk_exit["phase"] == "cancel":
                self._cancel(Cancel(order.level, client_id, CANCEL_REASON), t)
        self.risk_exit["phase"] = "close"
        grid = self.setup.grid
        for level in sorted(self.views):
            view = self.views.get(level)
            if view is None or view.live is not None or view.qty <= 0:
                continue
            direction = grid.level_direction(level)
            if direction is None:
                continue
            closing = direction.closing_side
            limit = exit_price(closing, price, limits.exit_slippage, self.rules.price_step)
            amount = sellable_amount(view.qty, self.rules)
            if amount <= 0 or not meets_minimums(amount, limit, self.rules):
                continue  # dust: reported as dust
            self._place(Place(level, closing, Role.CLOSE, limit, amount, False), p, price, t)
        if not self.live:
            self.risk_exit["phase"] = "done"
        return True

    def _risk_band(self, lo: int, hi: int) -> tuple[int, int]:
        """The event band narrowed to the exit prices (ticks), or closed for good after the exit."""
        if self.risk_exit is not None and self.risk_exit["phase"] == "done":
            return NEVER_LOW, NEVER_HIGH
        limits = self.setup.risk
        step = self._step
        below = limits.stop_loss_price if self._kind != "short" else limits.take_profit_price
        above = limits.stop_loss_price if self._kind == "short" else None
        if self._kind == "long":
            above = limits.take_profit_price
        elif self._kind == "neutral":
            above = limits.stop_loss_price_above
        if below is not None:
            lo = max(lo, int((below / step).to_integral_value(rounding=ROUND_FLOOR)))
        if above is not None:
            hi = min(hi, int((above / step).to_integral_value(rounding=ROUND_CEILING)))
        return lo, hi


__all__ = ["BacktestExits"]
