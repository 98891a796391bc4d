"""The decision function: one price and the engine's view of the slots in, actions out.

Pure and synchronous: no clock, no I/O, no randomness. The same inputs always give the same
``Decision``, which is what lets the engine replay and test it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from gridledger.domain.numbers import fmt
from gridledger.domain.types import Direction, Role
from gridledger.strategy.actions import (
    Action,
    Cancel,
    Decision,
    Note,
    Place,
    SlotView,
    StrategyState,
)
from gridledger.strategy.levels import (
    buy_amount,
    check_grid,
    meets_minimums,
    next_centre,
    order_price,
    sellable_amount,
    window_floor,
    window_levels,
)
from gridledger.strategy.params import GridParams, MarketRules

CANCEL_OUTSIDE_WINDOW = "outside window"


def _check_inputs(price: object, slots: Mapping[int, SlotView]) -> None:
    # ``price`` is typed ``object``: a caller that skipped parsing may pass a float or None.
    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        raise ValueError(f"price must be a finite Decimal > 0, got {price!r}")
    for level, slot in slots.items():
        if slot.level != level:
            raise ValueError(f"slots[{level}] holds the view of level {slot.level}")
        if slot.qty < 0:
            raise ValueError(f"slot {level} has negative qty {slot.qty}")


def _post_only_gate(state: StrategyState, params: GridParams, level: int) -> bool | None:
    """For an order that would be post-only: ``True`` (post-only), ``False`` (taker fallback)
    or ``None`` (the level waits for the centre to move)."""
    if state.rejects(level) < params.post_only_retries:
        return True
    return False if params.taker_fallback else None


def decide(
    state: StrategyState,
    params: GridParams,
    rules: MarketRules,
    price: Decimal,
    slots: Mapping[int, SlotView],
    *,
    paused: bool = False,
) -> Decision:
    """Decide the orders for ``price``.

    Raises ``ValueError`` on a grid off the price tick, a non-positive price, or a slot map
    whose keys disagree with its views.
    """
    _check_inputs(price, slots)
    check_grid(params, rules)
    if params.direction is not Direction.LONG:
        # The sides and the closing level below follow the direction; the window's place
        # (below the centre) and the crossing checks are still the long grid's.
        raise ValueError(f"direction {params.direction.value} is not supported yet (long only)")
    opening, closing, step = (params.direction.opening_side, params.direction.closing_side, params.direction.step)

    centre = next_centre(state.centre, params, price)
    if centre != state.centre:
        # Rejections were counted against the old window's prices; after a move the levels
        # are priced against a different market, so every level gets fresh attempts.
        state = StrategyState(centre=centre)

    notes: list[Note] = []

    # Cancels: only opening buys the trailing window has left behind. Closing sells hold
    # inventory that must be sold, and buys still inside the window are kept so a price
    # wobbling near the window edge does not churn them.
    floor = window_floor(centre, params.buy_window)
    cancels: list[Cancel] = []
    for level in sorted(slots):
        live = slots[level].live
        if live is not None and live.role is Role.OPEN and live.side is opening and level < floor:
            cancels.append(Cancel(level, live.client_id, CANCEL_OUTSIDE_WINDOW))

    live_count = sum(1 for slot in slots.values() if slot.live is not None)
    capacity = max(0, params.max_open_orders - (live_count - len(cancels)))

    # Closing sells: every slot holding sellable inventory and no live order.
    sells: list[Place] = []
    for level in sorted(slots):
        slot = slots[level]
        if slot.live is not None or slot.qty <= 0:
            continue
        sell_price = order_price(params, rules, level + step)
        amount = sellable_amount(slot.qty, rules)
        if not meets_minimums(amount, sell_price, rules):
            notes.append(
                Note(
                    level,
                    "dust",
                    f"qty {fmt(slot.qty)} sells as {fmt(amount)} at {fmt(sell_price)}: below "
                    f"min amount {fmt(rules.min_amount)} or min notional {fmt(rules.min_notional)}",
                    qty=slot.qty,
                )
            )
            continue
        post_only = False
        if params.post_only_close:
            if sell_price <= price:
                # A post-only sell at or below the market is rejected by the venue.
                notes.append(
                    Note(
                        level,
                        "would_cross",
                        f"post-only sell at {fmt(sell_price)} is not above price {fmt(price)}",
                        qty=slot.qty,
                    )
                )
                continue
            gate = _post_only_gate(state, params, level)
            if gate is None:
                notes.append(_waiting_note(state, level, slot.qty))
                continue
            post_only = gate
        sells.append(Place(level, closing, Role.CLOSE, sell_price, amount, post_only))

    sells.sort(key=lambda p: (abs(p.price - price), p.level))
    placed_sells, capped_sells = sells[:capacity], sells[capacity:]
    capacity -= len(placed_sells)
    for p in capped_sells:
        notes.append(_cap_note(params, p, qty=slots[p.level].qty))

    # A buy at or above one of our own asks would trade with ourselves.
    own_asks = [p.price for p in placed_sells] + [
        slot.live.price for slot in slots.values() if slot.live is not None and slot.live.side is closing
    ]
    lowest_own_ask = min(own_asks, default=None)

    buys: list[Place] = []
    for level in window_levels(centre, params.buy_window):
        view = slots.get(level)
        if view is not None:
            if view.live is not None:
                continue
            if view.qty > 0 and meets_minimums(
                sellable_amount(view.qty, rules), order_price(params, rules, level + step), rules
            ):
                # Sellable inventory: this slot is the closing sell's, not a new buy's.
                continue
        buy_price = order_price(params, rules, level)
        if paused:
            notes.append(Note(level, "paused", "opening buys are paused"))
            continue
        if buy_price <= 0:
            notes.append(Note(level, "out_of_bounds", f"level price {fmt(buy_price)} <= 0"))
            continue
        if params.lower_price is not None and buy_price < params.lower_price:
            notes.append(
                Note(
                    level,
                    "out_of_bounds",
                    f"{fmt(buy_price)} is below lower_price {fmt(params.lower_price)}",
                )
            )
            continue
        if params.upper_price is not None and buy_price > params.upper_price:
            notes.append(
                Note(
                    level,
                    "out_of_bounds",
                    f"{fmt(buy_price)} is above upper_price {fmt(params.upper_price)}",
                )
            )
            continue
        if params.post_only and buy_price >= price:
            notes.append(
                Note(
                    level,
                    "would_cross",
                    f"post-only buy at {fmt(buy_price)} is not below price {fmt(price)}",
                )
            )
            continue
        if lowest_own_ask is not None and buy_price >= lowest_own_ask:
            notes.append(
                Note(
                    level,
                    "would_cross",
                    f"buy at {fmt(buy_price)} would meet our own sell at {fmt(lowest_own_ask)}",
                )
            )
            continue
        amount = buy_amount(params, rules, buy_price)
        if not meets_minimums(amount, buy_price, rules):
            notes.append(
                Note(
                    level,
                    "below_min",
                    f"{fmt(params.quote_per_level)} quote buys {fmt(amount)} at {fmt(buy_price)}: "
                    f"below min amount {fmt(rules.min_amount)} "
                    f"or min notional {fmt(rules.min_notional)}",
                )
            )
            continue
        post_only = False
        if params.post_only:
            gate = _post_only_gate(state, params, level)
            if gate is None:
                notes.append(_waiting_note(state, level, None))
                continue
            post_only = gate
        buys.append(Place(level, opening, Role.OPEN, buy_price, amount, post_only))

    buys.sort(key=lambda p: (abs(price - p.price), -p.level))
    placed_buys, capped_buys = buys[:capacity], buys[capacity:]
    for p in capped_buys:
        notes.append(_cap_note(params, p, qty=None))

    actions: tuple[Action, ...] = (*cancels, *placed_sells, *placed_buys)
    return Decision(state=state, actions=actions, notes=tuple(notes))


def _waiting_note(state: StrategyState, level: int, qty: Decimal | None) -> Note:
    return Note(
        level,
        "waiting",
        f"{state.rejects(level)} post-only rejections at this centre; waiting for it to move",
        qty=qty,
    )


def _cap_note(params: GridParams, place: Place, qty: Decimal | None) -> Note:
    return Note(
        place.level,
        "cap",
        f"{place.role.value} {place.side.value} at {fmt(place.price)} skipped: "
        f"max_open_orders {params.max_open_orders} reached",
        qty=qty,
    )
