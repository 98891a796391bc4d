"""When a price needs a new plan: the paper and live engines decide only when something changed.

Issue 12 item 5: most ticks bring no evidence (0.11 messages per tick in the bundled paper
session), and a plan with no actions at one price stays a plan with no actions at the next
unless one of its inputs changed. ``decide`` (strategy/decide.py) reads:

- the slots and their live orders: the ledger and its ``version`` (which grows with every
  piece of evidence, every new order and every restore, R10/R7);
- the strategy's memory (``StrategyState``: the centre and post-only rejections), replaced,
  never mutated, by the decision and by the order desk on an accept or a rejection;
- the pause flag, the grid parameters and the market rules;
- the price, only through (a) the centre ``next_centre`` gives, (b) comparisons of the price
  with level prices (post-only crossing checks) and (c) the order of actions sorted by their
  distance to the price, whose ties fall on level midpoints.

Level prices are ``anchor + k * interval`` exactly (``check_grid`` refuses a grid off the
tick), so every comparison in (b) and (c) flips only where the price crosses a multiple of
half an interval from the anchor. A price in the same open half-interval cell (or on the
same cell boundary) as the previous one therefore gives the same comparisons.

The gate remembers these inputs after a plan *with no actions* and says "skip" while all of
them stay the same. A plan with actions is never remembered: the engine acts on it (or holds
some actions back for reasons that change with time, like a level's refusal back-off), and
the next tick plans again exactly as before. So the order sequence is that of planning on
every tick, by construction; tests/engine/test_plan_gate.py checks it against that.

Whatever the engine applies to a decision must depend on these inputs only (the ``[risk]``
``max_position`` cap reads the ledger: covered by its version), and work that must happen on
every price (the late-fill crossing check, exits) runs before the gate is asked. A new input
must join the key, or its owner must call ``PlanGate.forget()`` when it changes.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, DecimalException, localcontext

from gridledger.strategy import GridParams, MarketRules, StrategyState
from gridledger.strategy.levels import GRID_CONTEXT

_TWO = Decimal(2)
_HALF = Decimal("0.5")
_ZERO = Decimal(0)


def price_cell(params: GridParams, price: Decimal) -> tuple[int, bool]:
    """The half-interval cell of ``price`` (floor of ``2 * (price - anchor) / interval``) and
    whether ``price`` lies exactly on its lower boundary (a level price or a midpoint)."""
    with localcontext(GRID_CONTEXT):
        twice = (price - params.anchor) * _TWO
        cell = (twice / params.interval).to_integral_value(rounding=ROUND_FLOOR)
        # The floor is exact though the division rounds (see levels.raw_centre).
        return int(cell), twice == cell * params.interval


def quiet_band(params: GridParams, centre: int, price: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """The prices that give ``decide`` the same centre and the same cell as ``price``, given
    the state's centre ``centre`` (with ``next_centre(centre, params, price) == centre``).

    ``(cell_lo, cell_hi, centre_lo, centre_hi)``: a price ``p`` is in the band when
    ``cell_lo < p < cell_hi`` (the open half-interval cell of ``price``) and
    ``centre_lo <= p <= centre_hi`` (within the hysteresis threshold of the centre's level,
    where ``next_centre`` keeps the centre; beyond it, it jumps to the nearest level, which is
    then another one, since the threshold is at least half an interval). For a ``price`` on a
    cell edge the band is that one price: ``(price, price, price, price)``, read as equality.
    None if the maths refuses the price (decide() says why, every time)."""
    try:
        cell, on_edge = price_cell(params, price)
        if on_edge:
            return price, price, price, price
        with localcontext(GRID_CONTEXT):
            half = params.interval / _TWO  # exact: the context has digits to spare
            level = params.anchor + centre * params.interval
            threshold = params.interval * (_HALF + params.hysteresis)
            cell_lo = params.anchor + cell * half
            return cell_lo, cell_lo + half, level - threshold, level + threshold
    except (DecimalException, ValueError, ArithmeticError):
        return None


class PlanGate:
    """Remembers the inputs of the last plan that had no actions.

    The objects themselves are kept and compared by identity (not ``id()``, which a new
    object may reuse once the old one is freed). The price part is a band computed once per
    plan (``quiet_band``), so a quiet tick costs a few comparisons."""

    __slots__ = ("_band", "_objects", "_paused", "_version")

    def __init__(self) -> None:
        self._objects: tuple[object, object, object, object] | None = None
        self._version = -1
        self._paused = False
        self._band: tuple[Decimal, Decimal, Decimal, Decimal] = (_ZERO, _ZERO, _ZERO, _ZERO)

    def unchanged(
        self,
        ledger: object,
        version: int,
        state: StrategyState,
        params: GridParams,
        rules: MarketRules,
        paused: bool,
        price: Decimal,
    ) -> bool:
        """True if the last plan had no actions and none of its inputs changed since."""
        objects = self._objects
        if objects is None or version != self._version or paused != self._paused:
            return False
        if objects[0] is not ledger or objects[1] is not state or objects[2] is not params or objects[3] is not rules:
            return False
        cell_lo, cell_hi, centre_lo, centre_hi = self._band
        if cell_lo == cell_hi:  # the plan's price was on a cell edge
            return price == cell_lo
        return cell_lo < price < cell_hi and centre_lo <= price <= centre_hi

    def planned(
        self,
        ledger: object,
        version: int,
        state: StrategyState,
        params: GridParams,
        rules: MarketRules,
        paused: bool,
        price: Decimal,
        *,
        quiet: bool,
    ) -> None:
        """Record a plan: its inputs (``state`` is the state the plan left) if it had no
        actions, else forget, so the next price plans again."""
        band = quiet_band(params, state.centre, price) if quiet and state.centre is not None else None
        if band is None:
            self.forget()
            return
        self._objects = (ledger, state, params, rules)
        self._version = version
        self._paused = paused
        self._band = band

    def forget(self) -> None:
        """The next price plans whatever happened (a part that changed something the key does
        not see calls this)."""
        self._objects = None


__all__ = ["PlanGate", "price_cell", "quiet_band"]
