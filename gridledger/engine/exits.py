"""Risk exits in the engine: check every price, and once a limit is reached, get out once.

The check is pure (``strategy/risk.py``); this is the shell around it. On a trigger:

1. the exit (kind, reason, price, time, position) is journaled and committed FIRST
   (``store/exits.py``), so a crash after this line restarts into the exit, never before it
   into a second trigger;
2. phase ``cancel``: every live order of the grid is cancelled; nothing is placed until the
   ledger holds none (R6: only evidence ends an order);
3. phase ``close``: one closing order per slot holding inventory, a marketable limit at most
   ``exit_slippage`` worse than the price (reduce-only on a perpetual, as the order desk
   sends closing orders there), so every fill lands in its own slot and the ledger's rules
   hold unchanged. A slot whose closing order is live
   gets nothing new; a filled one has no inventory left, so it gets nothing either: the
   ledger, which counts every fill once (R1, R10) whatever the stream replays, is the only
   memory of what was closed. A closing order the price has left behind for
   ``exit_reprice_s`` is cancelled and placed again at the new price;
4. phase ``done``: no live order, no closable inventory (dust is reported).

From the trigger on, the strategy decides nothing for this grid: no opening order, ever,
until the user clears the exit (``gridledger journal clear-exit --db FILE``, engine stopped).
The exit is a pause reason (status, API, notifications) and the reports show it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from gridledger.domain.numbers import ZERO, fmt
from gridledger.domain.types import Direction, Role, Side
from gridledger.engine.orders import OrderDesk
from gridledger.engine.shared import Shared
from gridledger.ledger.records import OrderRecord
from gridledger.logs import log_event
from gridledger.store.exits import ExitRecord, ExitStore, Phase
from gridledger.strategy import (
    Cancel,
    Decision,
    LiveOrder,
    MarketRules,
    Note,
    Place,
    StrategyState,
    meets_minimums,
    sellable_amount,
)
from gridledger.strategy.risk import (
    ExitReason,
    Exposure,
    GridKind,
    RiskLimits,
    cap_opening,
    check_exit,
    exit_price,
    exposure,
)

log = logging.getLogger("gridledger.engine")

CANCEL_REASON = "risk exit"


class RiskGuard:
    """The grid's limits, its exit state (restored from the journal) and the exit's steps."""

    def __init__(
        self,
        shared: Shared,
        orders: OrderDesk,
        limits: RiskLimits,
        *,
        reprice_s: float,
        rules: Callable[[], MarketRules | None],
        fee_pending: Callable[[], set[int]],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.sh = shared
        self.orders = orders
        self.limits = limits
        self._watching = limits.exits  # read on every price: a plain bool, not the property
        self.reprice_s = reprice_s
        self._rules = rules
        self._fee_pending = fee_pending
        self.on_change = on_change  # the engine republishes its pause reasons
        self.store = ExitStore(shared.journal)
        self.exit: ExitRecord | None = self.store.load()  # a journaled trigger survives a restart
        self.peak: Decimal | None = self.store.peak() if limits.max_drawdown is not None else None
        # Funding received minus paid, for a perpetual's equity (H4's funding book sets it).
        self.funding: Callable[[], Decimal] | None = None
        self.dust: tuple[int, ...] = ()  # levels whose inventory is too small to close
        # The last step held a close back (fees not known, a level's back-off): the decider
        # decides again when something may release it, not only on the next price.
        self.held = False
        self._seen: dict[str, float] = {}  # exit order -> when this engine first saw it live
        self._exposure: tuple[int, Exposure] | None = None

    # ------------------------------------------------------------------ reading
    @property
    def kind(self) -> GridKind:
        value = self.sh.grid.direction.value
        assert value in ("long", "short", "neutral")
        return value  # type: ignore[return-value]

    @property
    def active(self) -> bool:
        return self.exit is not None

    @property
    def pause_reason(self) -> str | None:
        e = self.exit
        if e is None:
            return None
        state = {"cancel": "cancelling orders", "close": "closing the inventory", "done": "inventory closed"}[e.phase]
        return f"risk exit {e.kind}: {e.detail}; {state}"

    def exposure(self) -> Exposure:
        """The ledger's inventory per side and realized PnL, recomputed only when it changed."""
        ledger = self.sh.ledger
        cached = self._exposure
        if cached is not None and cached[0] == ledger.version:
            return cached[1]
        grid = self.sh.grid
        rows = []
        for level, slot in ledger.slots.items():
            st = slot.state
            rows.append((grid.level_direction(level) is not Direction.SHORT, st.qty, st.cost, st.realized))
        value = exposure(rows)
        self._exposure = (ledger.version, value)
        return value

    def equity(self, price: Decimal) -> Decimal:
        extra = self.funding() if self.funding is not None else ZERO
        return self.exposure().equity(price, extra)

    # ------------------------------------------------------------------ the strategy's filter
    def cap(self, decision: Decision) -> Decision:
        """``max_position``: drop opening orders that could take |net position| above it."""
        if self.limits.max_position is None:
            return decision
        live = [
            LiveOrder(rec.client_id, rec.side, rec.role, rec.price or ZERO, rec.amount or ZERO, rec.filled)
            for rec in self.sh.ledger.live_orders()
        ]
        return cap_opening(decision, self.limits.max_position, self.exposure().net_position, live)

    # ------------------------------------------------------------------ every price
    def check(self, price: Decimal) -> ExitReason | None:
        """The pure check at ``price``; tracks the equity peak when a drawdown limit is set."""
        equity = peak = None
        if self.limits.max_drawdown is not None:
            equity = self.equity(price)
            if self.peak is None or equity > self.peak:
                self.peak = equity
                self.store.set_peak(equity)
            peak = self.peak
        return check_exit(self.limits, self.kind, price, equity, peak)

    async def on_price(self, price: Decimal) -> bool:
        """True when the exit owns this grid (the strategy must not decide)."""
        if self.exit is None:
            if not self._watching:
                return False
            reason = self.check(price)
            if reason is None:
                return False
            self.trigger(reason, price)
        await self.step(price)
        return True

    def trigger(self, reason: ExitReason, price: Decimal) -> ExitRecord:
        record = ExitRecord(
            kind=reason.kind,
            detail=reason.detail,
            price=price,
            ts_ms=self.sh.now_ms(),
            position=self.sh.ledger.net_position,
        )
        self.store.save(record)  # durable before any order is touched
        self.exit = record
        log_event(
            log,
            logging.ERROR,
            "risk exit: cancelling the grid's orders and closing its inventory; opening orders stop",
            kind=record.kind,
            reason=record.detail,
            price=str(price),
            position=str(record.position),
        )
        self.on_change()
        return record

    def _advance(self, phase: Phase) -> None:
        assert self.exit is not None
        self.exit = self.exit.at(phase)
        self.store.save(self.exit)
        self.on_change()

    # ------------------------------------------------------------------ the exit's steps
    async def step(self, price: Decimal) -> None:
        self.held = False
        if self.exit is None or self.sh.stopping:
            return
        if self.exit.phase == "cancel":
            live = self.sh.ledger.live_orders()
            if live:
                for rec in live:
                    if self.sh.stopping:
                        return
                    await self.orders.cancel(Cancel(rec.level, rec.client_id, CANCEL_REASON))
                return
            # Every order the grid had is over: from here every live order is an exit order.
            self._advance("close")
        if self.exit.phase == "close":
            busy = await self._close(price)
            if not busy:
                self._advance("done")
                log_event(
                    log,
                    logging.WARNING,
                    "risk exit complete: no live orders, no closable inventory",
                    kind=self.exit.kind,
                    position=str(self.sh.ledger.net_position),
                    dust_levels=",".join(str(level) for level in self.dust) or "none",
                )

    async def _close(self, price: Decimal) -> bool:
        """One closing order per slot with inventory and no live order; True while any order
        is live or was placed (the exit is not over)."""
        sh = self.sh
        rules = self._rules()
        if rules is None:
            return True
        now = sh.clock()
        busy = False
        for rec in sh.ledger.live_orders():
            busy = True
            seen = self._seen.setdefault(rec.client_id, now)
            if not _marketable(rec, price) and now - seen >= self.reprice_s:
                await self.orders.cancel(Cancel(rec.level, rec.client_id, "risk exit: reprice"))
        hold = self._fee_pending()
        dust = []
        for level in sorted(sh.ledger.slots):
            if sh.stopping:
                return True
            slot = sh.ledger.slots[level]
            qty = slot.state.qty
            if qty <= 0 or slot.bound is not None:
                continue
            if sh.grid.level_direction(level) is None:
                continue
            order = self._exit_order(level, qty, price, rules)
            if order is None:
                dust.append(level)
                continue
            if level in hold or sh.resolver.level_waiting(level, now):
                busy = True  # fees still unknown, or the venue refused it: try again later
                self.held = True
                continue
            busy = True
            # Reduce-only on a perpetual is the order desk's rule for every closing order
            # (engine/perp.py closes_reduce_only): always for a long or short grid; for a
            # neutral grid only when the order shrinks the net position, since a long slot's
            # sell while the net is short would be refused, and the ledger needs that close.
            await self.orders.place(order)
        self.dust = tuple(dust)
        return busy

    def _exit_order(self, level: int, qty: Decimal, price: Decimal, rules: MarketRules) -> Place | None:
        """A slot's exit order at ``price``: its closing side, a marketable limit at most
        ``exit_slippage`` worse; None when its inventory is dust (below the minimums)."""
        direction = self.sh.grid.level_direction(level)
        if direction is None:
            return None
        closing = direction.closing_side
        limit = exit_price(closing, price, self.limits.exit_slippage, rules.price_step)
        amount = sellable_amount(qty, rules)
        if amount <= 0 or not meets_minimums(amount, limit, rules):
            return None
        return Place(level, closing, Role.CLOSE, limit, amount, False)

    def plan(self, price: Decimal, state: StrategyState) -> Decision:
        """What the exit's next step would send at ``price`` (no I/O; ``live --dry-run``).

        While an exit is in effect the strategy decides nothing (no opening order): this is
        the plan instead. Phase ``cancel``: a cancel per live order (the closes follow once
        the ledger holds none; with none live, the closes at once, as :meth:`step` does).
        Phase ``close``: one closing order per slot with inventory and no live order (a live
        exit order is kept, or repriced after ``exit_reprice_s``). Phase ``done``: nothing."""
        record = self.exit
        if record is None or record.phase == "done":
            return Decision(state=state)
        ledger = self.sh.ledger
        live = ledger.live_orders()
        if record.phase == "cancel" and live:
            cancels = tuple(Cancel(rec.level, rec.client_id, CANCEL_REASON) for rec in live)
            return Decision(state=state, actions=cancels)
        rules = self._rules()
        if rules is None:
            return Decision(state=state)
        actions: list[Place] = []
        notes: list[Note] = []
        for level in sorted(ledger.slots):
            slot = ledger.slots[level]
            qty = slot.state.qty
            if qty <= 0 or slot.bound is not None or self.sh.grid.level_direction(level) is None:
                continue
            order = self._exit_order(level, qty, price, rules)
            if order is None:
                notes.append(Note(level, "dust", f"qty {fmt(qty)} is below the minimums: kept", qty=qty))
            else:
                actions.append(order)
        return Decision(state=state, actions=tuple(actions), notes=tuple(notes))


def _marketable(rec: OrderRecord, price: Decimal) -> bool:
    if rec.price is None:
        return True
    return rec.price <= price if rec.side is Side.SELL else rec.price >= price


def exit_summary(record: ExitRecord | None) -> str | None:
    """One line for reports: why the grid stopped."""
    if record is None:
        return None
    return (
        f"risk exit {record.kind} at {fmt(record.price)}: {record.detail} "
        f"(position then {fmt(record.position)}; {record.phase})"
    )


__all__ = ["CANCEL_REASON", "RiskGuard", "exit_summary"]
