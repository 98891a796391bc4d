"""Risk exits and the position cap: pure checks, no I/O, no clock.

A grid has a way out (issue 11 item 3). Four limits, all optional:

- ``stop_loss_price`` / ``take_profit_price``: a price on the losing / winning side of the
  grid's inventory. Long: stop when the price is at or below the stop, take profit at or
  above the target. Short: the reverse. Neutral (long slots below the pivot, short slots
  above it) can lose both ways, so it has two stops and no take-profit: ``stop_loss_price``
  below the pivot and ``stop_loss_price_above`` above it.
- ``max_drawdown``: the grid's equity (realized PnL plus its inventory marked at the price;
  quote fees are inside both) has fallen this far (quote) below its peak.
- ``max_position``: no opening order that could make the grid's absolute net position (base)
  exceed it; a filter of ``decide()``'s opening orders, not an exit.

The engine (``engine/exits.py``) journals a trigger before it acts on it, so a restart
neither forgets nor repeats it; closing orders go through the ledger slot by slot, so the
contract's exactly-once rules (R1-R10) hold for them unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final, Literal

from gridledger.domain.numbers import ZERO, fmt
from gridledger.domain.types import Role, Side
from gridledger.strategy.actions import Action, Decision, LiveOrder, Note, Place

GridKind = Literal["long", "short", "neutral"]
GRID_KINDS: Final[frozenset[str]] = frozenset(("long", "short", "neutral"))
ExitKind = Literal["stop_loss", "take_profit", "max_drawdown"]
EXIT_KINDS: Final[frozenset[str]] = frozenset(("stop_loss", "take_profit", "max_drawdown"))
DEFAULT_EXIT_SLIPPAGE: Final[Decimal] = Decimal("0.005")


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The ``[risk]`` table as the strategy sees it; ``None`` is "no such limit"."""

    stop_loss_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    stop_loss_price_above: Decimal | None = None  # neutral grids only
    max_position: Decimal | None = None
    max_drawdown: Decimal | None = None
    exit_slippage: Decimal = DEFAULT_EXIT_SLIPPAGE

    @property
    def exits(self) -> bool:
        """Any limit that can end the grid (``max_position`` only filters orders)."""
        return any(
            v is not None
            for v in (self.stop_loss_price, self.take_profit_price, self.stop_loss_price_above, self.max_drawdown)
        )


@dataclass(frozen=True, slots=True)
class ExitReason:
    """Why the grid stops: the kind (for machines) and one line (for people)."""

    kind: ExitKind
    detail: str

    def __post_init__(self) -> None:
        if self.kind not in EXIT_KINDS:
            raise ValueError(f"kind must be one of {sorted(EXIT_KINDS)}, got {self.kind!r}")


def check_limits(limits: RiskLimits, kind: str, pivot_price: Decimal | None) -> None:
    """Refuse limits that cannot mean what they say for this grid; the message names the key.

    Raises ``ValueError("risk.<key>: ...")``. ``pivot_price`` is the neutral grid's pivot."""
    if kind not in GRID_KINDS:
        raise ValueError(f"grid direction must be one of {sorted(GRID_KINDS)}, got {kind!r}")
    stop, target, above = limits.stop_loss_price, limits.take_profit_price, limits.stop_loss_price_above
    if kind == "neutral":
        if target is not None:
            raise ValueError(
                "risk.take_profit_price: a neutral grid holds long and short slots and has no take-profit "
                "price; use stop_loss_price (below the pivot) and stop_loss_price_above"
            )
        if pivot_price is not None:
            if stop is not None and stop >= pivot_price:
                raise ValueError(
                    f"risk.stop_loss_price: must be below the pivot {fmt(pivot_price)} on a neutral grid "
                    f"(got {fmt(stop)})"
                )
            if above is not None and above <= pivot_price:
                raise ValueError(
                    f"risk.stop_loss_price_above: must be above the pivot {fmt(pivot_price)} (got {fmt(above)})"
                )
        if stop is not None and above is not None and stop >= above:
            raise ValueError("risk.stop_loss_price_above: must be above stop_loss_price")
        return
    if above is not None:
        raise ValueError(f"risk.stop_loss_price_above: only for neutral grids; a {kind} grid has one stop_loss_price")
    if stop is not None and target is not None:
        if kind == "long" and stop >= target:
            raise ValueError(
                f"risk.stop_loss_price: a long grid stops below its take_profit_price (got stop {fmt(stop)}, "
                f"take profit {fmt(target)})"
            )
        if kind == "short" and stop <= target:
            raise ValueError(
                f"risk.stop_loss_price: a short grid stops above its take_profit_price (got stop {fmt(stop)}, "
                f"take profit {fmt(target)})"
            )


def check_exit(
    limits: RiskLimits,
    kind: GridKind,
    price: Decimal,
    equity: Decimal | None = None,
    peak: Decimal | None = None,
) -> ExitReason | None:
    """The exit ``price`` (and the equity against its peak) calls for, or None.

    Price limits first (they name a price the user chose), then the drawdown. A limit is
    reached at equality: a stop at 29000 fires on a print of exactly 29000."""
    stop, target, above = limits.stop_loss_price, limits.take_profit_price, limits.stop_loss_price_above
    p = fmt(price)
    if kind == "short":
        if stop is not None and price >= stop:
            return ExitReason("stop_loss", f"price {p} at or above stop_loss_price {fmt(stop)}")
        if target is not None and price <= target:
            return ExitReason("take_profit", f"price {p} at or below take_profit_price {fmt(target)}")
    else:
        if stop is not None and price <= stop:
            return ExitReason("stop_loss", f"price {p} at or below stop_loss_price {fmt(stop)}")
        if kind == "neutral":
            if above is not None and price >= above:
                return ExitReason("stop_loss", f"price {p} at or above stop_loss_price_above {fmt(above)}")
        elif target is not None and price >= target:
            return ExitReason("take_profit", f"price {p} at or above take_profit_price {fmt(target)}")
    dd = limits.max_drawdown
    if dd is not None and equity is not None and peak is not None and peak - equity >= dd:
        return ExitReason(
            "max_drawdown",
            f"equity {fmt(equity)} is {fmt(peak - equity)} below its peak {fmt(peak)} (max_drawdown {fmt(dd)})",
        )
    return None


@dataclass(frozen=True, slots=True)
class Exposure:
    """The grid's inventory summed per side, and its realized PnL: enough to mark it at any price.

    Long slots hold ``long_qty`` base bought for ``long_cost`` quote; short slots owe
    ``short_qty`` base sold for ``short_cost`` quote (net of quote fees, as the ledger keeps
    cost basis, R5)."""

    long_qty: Decimal = ZERO
    long_cost: Decimal = ZERO
    short_qty: Decimal = ZERO
    short_cost: Decimal = ZERO
    realized: Decimal = ZERO

    @property
    def net_position(self) -> Decimal:
        return self.long_qty - self.short_qty

    def equity(self, price: Decimal, extra: Decimal = ZERO) -> Decimal:
        """Realized PnL plus the inventory marked at ``price`` (plus ``extra``: funding)."""
        return (
            self.realized
            + (self.long_qty * price - self.long_cost)
            + (self.short_cost - self.short_qty * price)
            + extra
        )


def exposure(slots: Iterable[tuple[bool, Decimal, Decimal, Decimal]]) -> Exposure:
    """Sum slots given as ``(is_long, qty, cost, realized)``."""
    lq = lc = sq = sc = r = ZERO
    for is_long, qty, cost, realized in slots:
        r += realized
        if is_long:
            lq += qty
            lc += cost
        else:
            sq += qty
            sc += cost
    return Exposure(lq, lc, sq, sc, r)


def exit_price(closing: Side, price: Decimal, slippage: Decimal, price_step: Decimal) -> Decimal:
    """The marketable limit of a closing order: ``price`` worsened by at most ``slippage``.

    A closing sell is rounded up to the tick and a closing buy down, so the rounding never
    takes the order past its bound."""
    if closing is Side.SELL:
        bound = price * (1 - slippage)
        ticks = (bound / price_step).to_integral_value(rounding=ROUND_CEILING)
    else:
        bound = price * (1 + slippage)
        ticks = (bound / price_step).to_integral_value(rounding=ROUND_FLOOR)
    return max(ticks, Decimal(1)) * price_step


def _remaining(live: LiveOrder) -> Decimal:
    return max(live.amount - live.filled, ZERO)


def cap_opening(
    decision: Decision, max_position: Decimal | None, net_position: Decimal, live: Iterable[LiveOrder]
) -> Decision:
    """``decision`` without the opening orders that could take ``|net position|`` above ``max_position``.

    The worst case counts every live opening order as filled (a buy adds, a sell subtracts),
    orders the decision is cancelling too (a cancel can lose the race with a fill); the
    decision's own opening orders are admitted in its order (nearest the price first) while
    they fit. Closing orders and cancels always pass: they only shrink the position."""
    if max_position is None:
        return decision
    up = down = net_position
    for order in live:
        if order.role is Role.OPEN:
            if order.side is Side.BUY:
                up += _remaining(order)
            else:
                down -= _remaining(order)
    kept: list[Action] = []
    notes: list[Note] = []
    for action in decision.actions:
        if isinstance(action, Place) and action.role is Role.OPEN:
            after = up + action.amount if action.side is Side.BUY else down - action.amount
            if abs(after) > max_position:
                notes.append(
                    Note(
                        action.level,
                        "cap",
                        f"open {action.side.value} {fmt(action.amount)} at {fmt(action.price)} skipped: "
                        f"net position could reach {fmt(after)}, max_position {fmt(max_position)}",
                    )
                )
                continue
            if action.side is Side.BUY:
                up = after
            else:
                down = after
        kept.append(action)
    if not notes:
        return decision
    return Decision(state=decision.state, actions=tuple(kept), notes=(*decision.notes, *notes))


def describe_exit(doc: Mapping[str, object], *, resume_hint: bool = True) -> str:
    """One line for status and reports from an exit's JSON form (``ExitRecord.as_dict``);
    ``resume_hint`` adds how to resume (a backtest has nothing to resume)."""
    phase = {"cancel": "cancelling orders", "close": "closing the inventory", "done": "inventory closed"}.get(
        str(doc.get("phase")), str(doc.get("phase"))
    )
    hint = "; opening orders stay off until `gridledger journal clear-exit`" if resume_hint else ""
    return (
        f"stopped by risk exit {doc.get('kind')} at price {doc.get('price')}: {doc.get('detail')} "
        f"(position then {doc.get('position')}; {phase}{hint})"
    )


__all__ = [
    "DEFAULT_EXIT_SLIPPAGE",
    "EXIT_KINDS",
    "GRID_KINDS",
    "ExitKind",
    "ExitReason",
    "Exposure",
    "GridKind",
    "RiskLimits",
    "cap_opening",
    "check_exit",
    "check_limits",
    "describe_exit",
    "exit_price",
    "exposure",
]
