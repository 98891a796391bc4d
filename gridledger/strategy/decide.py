"""The decision function: one price and the engine's view of the slots in, actions out.

Pure and synchronous: no clock, no I/O, no randomness. The same inputs always give the same
``Decision``, which is what lets the engine replay and test it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from gridledger.domain.numbers import fmt
from gridledger.domain.types import Direction, Role, Side
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
    beyond_window,
    buy_amount,
    check_grid,
    meets_minimums,
    next_centre,
    opening_levels,
    order_price,
    sellable_amount,
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

    Every slot trades in its level's direction (``GridParams.level_direction``): a long slot
    opens with a buy below the centre and closes with a sell one level up, a short slot
    opens with a sell above the centre and closes with a buy one level down. A short grid is
    the long grid's mirror image; a neutral grid is both, long below its pivot and short
    above it, and places nothing for the pivot level.

    Raises ``ValueError`` on a grid off the price tick, a non-positive price, or a slot map
    whose keys disagree with its views.
    """
    _check_inputs(price, slots)
    check_grid(params, rules)

    centre = next_centre(state.centre, params, price)
    if centre != state.centre:
        # Rejections were counted against the old window's prices; after a move the levels
        # are priced against a different market, so every level gets fresh attempts.
        state = StrategyState(centre=centre)

    notes: list[Note] = []

    # Cancels: only opening orders the trailing window has left behind (buys below a long
    # window, sells above a short one). Closing orders hold inventory that must be closed,
    # and opening orders still inside the window are kept so a price wobbling near the
    # window edge does not churn them.
    cancels: list[Cancel] = []
    for level in sorted(slots):
        live = slots[level].live
        if live is None or live.role is not Role.OPEN:
            continue
        direction = params.level_direction(level)
        if (
            direction is not None
            and live.side is direction.opening_side
            and beyond_window(level, centre, params.buy_window, direction)
        ):
            cancels.append(Cancel(level, live.client_id, CANCEL_OUTSIDE_WINDOW))

    live_count = sum(1 for slot in slots.values() if slot.live is not None)
    capacity = max(0, params.max_open_orders - (live_count - len(cancels)))

    # Closing orders: every slot holding inventory and no live order.
    closes: list[Place] = []
    for level in sorted(slots):
        slot = slots[level]
        if slot.live is not None or slot.qty <= 0:
            continue
        direction = params.level_direction(level)
        if direction is None:
            continue  # a neutral grid's pivot holds no slot (the ledger refuses orders there)
        close = _closing(state, params, rules, price, slot, direction, notes)
        if close is not None:
            closes.append(close)

    # Nearest the price first; ties go to the slot nearer its opening side (the mirror image
    # of a long grid's order for a short one).
    closes.sort(key=lambda p: (abs(p.price - price), _step(params, p.level) * p.level))
    # On a neutral grid the closing orders of the two directions can meet at the pivot (a
    # long slot's sell and a short slot's buy one level either side of it): never trade
    # with ourselves. A grid of one direction has no such pair.
    if len(params.directions) > 1:
        closes = _without_own_crossings(params, slots, closes, notes)
    placed_closes, capped_closes = closes[:capacity], closes[capacity:]
    capacity -= len(placed_closes)
    for p in capped_closes:
        notes.append(_cap_note(params, p, qty=slots[p.level].qty))

    # An opening order at or through one of our own orders on the other side would trade
    # with ourselves: a buy at or above our lowest ask, a sell at or below our highest bid.
    own = [(p.side, p.price) for p in placed_closes] + [
        (slot.live.side, slot.live.price) for slot in slots.values() if slot.live is not None
    ]

    opens: list[Place] = []
    for direction in params.directions:
        opening = direction.opening_side
        lowest_own_ask = min((px for side, px in own if side is Side.SELL), default=None)
        highest_own_bid = max((px for side, px in own if side is Side.BUY), default=None)
        placed_here: list[Place] = []
        for level in opening_levels(centre, params.buy_window, direction):
            if params.level_direction(level) is not direction:
                continue  # a neutral grid: the other direction's level, or the pivot
            view = slots.get(level)
            if view is not None:
                if view.live is not None:
                    continue
                if view.qty > 0 and meets_minimums(
                    sellable_amount(view.qty, rules), order_price(params, rules, level + direction.step), rules
                ):
                    # Closable inventory: this slot is the closing order's, not a new opening's.
                    continue
            open_price = order_price(params, rules, level)
            verb = opening.value  # "buy" or "sell"
            if paused:
                notes.append(Note(level, "paused", f"opening {verb}s are paused"))
                continue
            if open_price <= 0:
                notes.append(Note(level, "out_of_bounds", f"level price {fmt(open_price)} <= 0"))
                continue
            if params.lower_price is not None and open_price < params.lower_price:
                notes.append(
                    Note(
                        level,
                        "out_of_bounds",
                        f"{fmt(open_price)} is below lower_price {fmt(params.lower_price)}",
                    )
                )
                continue
            if params.upper_price is not None and open_price > params.upper_price:
                notes.append(
                    Note(
                        level,
                        "out_of_bounds",
                        f"{fmt(open_price)} is above upper_price {fmt(params.upper_price)}",
                    )
                )
                continue
            if params.post_only and _crosses(opening, open_price, price):
                where = "below" if opening is Side.BUY else "above"
                notes.append(
                    Note(
                        level,
                        "would_cross",
                        f"post-only {verb} at {fmt(open_price)} is not {where} price {fmt(price)}",
                    )
                )
                continue
            if opening is Side.BUY and lowest_own_ask is not None and open_price >= lowest_own_ask:
                notes.append(
                    Note(
                        level,
                        "would_cross",
                        f"buy at {fmt(open_price)} would meet our own sell at {fmt(lowest_own_ask)}",
                    )
                )
                continue
            if opening is Side.SELL and highest_own_bid is not None and open_price <= highest_own_bid:
                notes.append(
                    Note(
                        level,
                        "would_cross",
                        f"sell at {fmt(open_price)} would meet our own buy at {fmt(highest_own_bid)}",
                    )
                )
                continue
            amount = buy_amount(params, rules, open_price)
            if not meets_minimums(amount, open_price, rules):
                notes.append(
                    Note(
                        level,
                        "below_min",
                        f"{fmt(params.quote_per_level)} quote {verb}s {fmt(amount)} at {fmt(open_price)}: "
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
            placed_here.append(Place(level, opening, Role.OPEN, open_price, amount, post_only))
        opens.extend(placed_here)
        own.extend((p.side, p.price) for p in placed_here)

    # Nearest the price first; ties go to the level farther along the opening side.
    opens.sort(key=lambda p: (abs(price - p.price), -_step(params, p.level) * p.level))
    placed_opens, capped_opens = opens[:capacity], opens[capacity:]
    for p in capped_opens:
        notes.append(_cap_note(params, p, qty=None))

    actions: tuple[Action, ...] = (*cancels, *placed_closes, *placed_opens)
    return Decision(state=state, actions=actions, notes=tuple(notes))


def _step(params: GridParams, level: int) -> int:
    """+1 for a long slot, -1 for a short one (the direction of its closing order)."""
    direction = params.level_direction(level)
    return direction.step if direction is not None else 1


def _crosses(side: Side, order: Decimal, price: Decimal) -> bool:
    """Whether a limit order would trade on arrival: a buy at or above the price, a sell at
    or below it."""
    return order >= price if side is Side.BUY else order <= price


def _closing(
    state: StrategyState,
    params: GridParams,
    rules: MarketRules,
    price: Decimal,
    slot: SlotView,
    direction: Direction,
    notes: list[Note],
) -> Place | None:
    """The closing order of a slot holding inventory: a long slot sells one level up, a
    short slot buys back one level down. None (with a note) when it cannot go out now."""
    level = slot.level
    side = direction.closing_side
    close_price = order_price(params, rules, level + direction.step)
    amount = sellable_amount(slot.qty, rules)
    if not meets_minimums(amount, close_price, rules):
        verb = "sells" if side is Side.SELL else "buys back"
        notes.append(
            Note(
                level,
                "dust",
                f"qty {fmt(slot.qty)} {verb} as {fmt(amount)} at {fmt(close_price)}: below "
                f"min amount {fmt(rules.min_amount)} or min notional {fmt(rules.min_notional)}",
                qty=slot.qty,
            )
        )
        return None
    post_only = False
    if params.post_only_close:
        if _crosses(side, close_price, price):
            # A post-only order that would take is rejected by the venue.
            where = "above" if side is Side.SELL else "below"
            notes.append(
                Note(
                    level,
                    "would_cross",
                    f"post-only {side.value} at {fmt(close_price)} is not {where} price {fmt(price)}",
                    qty=slot.qty,
                )
            )
            return None
        gate = _post_only_gate(state, params, level)
        if gate is None:
            notes.append(_waiting_note(state, level, slot.qty))
            return None
        post_only = gate
    return Place(level, side, Role.CLOSE, close_price, amount, post_only)


def _without_own_crossings(
    params: GridParams, slots: Mapping[int, SlotView], closes: list[Place], notes: list[Note]
) -> list[Place]:
    """The closing orders (nearest the price first) that meet no order of ours of the other
    slot direction on the other side; the rest wait with a ``would_cross`` note."""
    others: list[tuple[Direction | None, Side, Decimal]] = [
        (params.level_direction(v.level), v.live.side, v.live.price) for v in slots.values() if v.live is not None
    ]
    kept: list[Place] = []
    for p in closes:
        mine = params.level_direction(p.level)
        met = next(
            (
                (side, px)
                for d, side, px in others
                if d is not mine and side is not p.side and _crosses(p.side, p.price, px)
            ),
            None,
        )
        if met is not None:
            notes.append(
                Note(
                    p.level,
                    "would_cross",
                    f"{p.side.value} at {fmt(p.price)} would meet our own {met[0].value} at {fmt(met[1])}",
                    qty=slots[p.level].qty,
                )
            )
            continue
        kept.append(p)
        others.append((mine, p.side, p.price))
    return kept


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
