"""Strategy glue: the ledger as the strategy sees it, a decision per price, actions out.

The strategy is pure (``decide``); this is where its inputs are read from the ledger and its
actions are filtered by what only the shell knows: a level waiting out a refusal, a slot
whose fees are not all known yet, opening orders paused.

A held action must not wait for the next price: in a quiet market none may come for a long
time, and a filled buy held for its fees would sit without its closing sell. So a decision
that held something back says so (``Shared.held``), and whatever may release it decides
again at the last price: evidence applied (fees now known, an order ended: engine/ingest.py),
a query answered or a reconciliation done (engine/reconcile.py; a drift pause may have
lifted), the end of a level's back-off (a timer here). A pause switched off sets ``decide``
itself (engine/runtime.py, engine/perp.py). Nothing of this runs while no action is held,
so the order sequence of an engine that never holds anything is unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

from gridledger.domain.numbers import ZERO
from gridledger.domain.types import Role
from gridledger.engine.exits import RiskGuard
from gridledger.engine.orders import OrderDesk
from gridledger.engine.plan_gate import PlanGate
from gridledger.engine.shared import Shared
from gridledger.strategy import Cancel, Decision, GridParams, LiveOrder, MarketRules, Place, SlotView, decide


class Decider:
    def __init__(
        self,
        shared: Shared,
        orders: OrderDesk,
        *,
        paused: Callable[[], bool],
        on_price_seen: Callable[[Decimal], None],
        dry_run: bool = False,
        on_plan: Callable[[Decision], None] | None = None,
    ) -> None:
        self.sh = shared
        self.orders = orders
        self.paused = paused
        self.on_price_seen = on_price_seen  # crossings: fills that may be late (engine/reconcile.py)
        self.dry_run = dry_run
        self.on_plan = on_plan
        self.rules: MarketRules | None = None
        self.params: GridParams | None = None
        self.last_plan: tuple[Place | Cancel, ...] | None = None
        self.guard: RiskGuard | None = None  # [risk]: exits and max_position (engine/exits.py)
        # The last slot views and the ledger (and its version) they were read from: a tick
        # without new evidence or a new order reuses them (issue 12: most ticks change nothing).
        self._views: dict[int, SlotView] = {}
        self._views_of: tuple[object, int] | None = None
        # Plans only when an input of decide() changed (engine/plan_gate.py, issue 12 item 5).
        self.gate = PlanGate()
        self.plans = 0  # decide() calls made by on_price
        self.skipped = 0  # prices the gate found nothing new in
        self._backoff_wake: asyncio.TimerHandle | None = None  # decide when a level's back-off ends

    def slot_views(self) -> dict[int, SlotView]:
        ledger = self.sh.ledger
        key = (ledger, ledger.version)
        if self._views_of is not None and self._views_of[0] is key[0] and self._views_of[1] == key[1]:
            return dict(self._views)  # a copy: the caller may keep or change its dict
        views: dict[int, SlotView] = {}
        grid = self.sh.grid
        for level, slot in ledger.slots.items():
            bound = slot.bound
            qty = slot.state.qty
            if bound is None and qty <= 0:
                continue
            live = None
            if bound is not None:
                live = LiveOrder(
                    client_id=bound.client_id,
                    side=bound.side,
                    role=bound.role,
                    price=bound.price or grid.level_price(level),
                    amount=bound.amount or ZERO,
                    filled=bound.filled,
                )
            views[level] = SlotView(level=level, qty=max(qty, ZERO), live=live)
        self._views, self._views_of = views, key
        return dict(views)

    def fee_pending_levels(self) -> set[int]:
        """Slots whose last orders' fees are not all known: do not size a sell from them yet."""
        levels = set()
        for client_id in self.sh.resolver.queued():
            rec = self.sh.ledger.order(client_id)
            if rec is not None and rec.fees_incomplete():
                levels.add(rec.level)
        return levels

    def plan(self, price: Decimal) -> Decision:
        """What the strategy would do at this price, from the ledger as it stands (no I/O)."""
        assert self.params is not None and self.rules is not None, "prepare() first"
        return self._capped(
            decide(self.sh.state, self.params, self.rules, price, self.slot_views(), paused=self.paused())
        )

    def _capped(self, decision: Decision) -> Decision:
        return decision if self.guard is None else self.guard.cap(decision)

    async def on_price(self, price: Decimal) -> None:
        sh = self.sh
        sh.last_price = price
        if not sh.ready or sh.stopping or self.params is None or self.rules is None:
            return
        # Releases counted from here on reach this decision or the next one (_held).
        seen = sh.unblocks
        self.on_price_seen(price)
        if self.guard is not None and not self.dry_run and await self.guard.on_price(price):
            self._held(self.guard.held, seen)
            return  # a risk exit owns the grid now: checked on every price, before the plan gate
        # Everything above runs on every price; planning only when something changed.
        params, rules, ledger = self.params, self.rules, sh.ledger
        paused = self.paused()
        if self.gate.unchanged(ledger, ledger.version, sh.state, params, rules, paused, price):
            self.skipped += 1
            self._held(paused and not self.dry_run, seen)
            return
        self.plans += 1
        decision = self._capped(decide(sh.state, params, rules, price, self.slot_views(), paused=paused))
        sh.state = decision.state
        self.gate.planned(ledger, ledger.version, sh.state, params, rules, paused, price, quiet=not decision.actions)
        if self.dry_run:
            plan = tuple(decision.actions)
            if plan and plan != self.last_plan:
                sh.stats.planned += len(plan)
                if self.on_plan is not None:
                    self.on_plan(decision)
            self.last_plan = plan
            return
        hold = self.fee_pending_levels()
        now = sh.clock()
        # Paused: decide() left the opening orders out; a lifted pause must decide again.
        held = paused
        for action in decision.actions:
            if sh.stopping:
                return
            if isinstance(action, Cancel):
                await self.orders.cancel(action)
            elif isinstance(action, Place):
                if (
                    (action.role is Role.CLOSE and action.level in hold)
                    or sh.resolver.level_waiting(action.level, now)
                    or (self.paused() and action.role is Role.OPEN)
                ):
                    held = True
                    continue
                await self.orders.place(action)
        self._held(held, seen)

    def _held(self, held: bool, seen: int) -> None:
        """Record whether this decision held an action back, so that a release decides again.

        A release that came while this decision ran (between its reading of the holds and
        now, across the awaits of its orders) found ``held`` still at the previous
        decision's value: ``seen`` catches it. A level's back-off ends with time, not with
        an event: a timer decides again then."""
        sh = self.sh
        sh.held = held
        if not held:
            return
        if sh.unblocks != seen:
            sh.decide.set()
        retry = sh.resolver.next_retry(sh.clock())
        wake = self._backoff_wake
        if retry is not None and (wake is None or wake.cancelled() or wake.when() > retry or wake.when() <= sh.clock()):
            if wake is not None:
                wake.cancel()
            self._backoff_wake = asyncio.get_running_loop().call_at(retry, sh.decide.set)

    async def loop(self) -> None:
        """Decide on the latest price whenever it moves or the ledger's slots change."""
        sh = self.sh
        try:
            while not sh.stopping:
                await sh.decide.wait()
                sh.decide.clear()
                if sh.last_price is not None:
                    await self.on_price(sh.last_price)
        finally:
            if self._backoff_wake is not None:
                self._backoff_wake.cancel()


__all__ = ["Decider"]
