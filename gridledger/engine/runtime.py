"""The engine's wiring and lifecycle: it builds its parts, starts and stops them.

Data moves one way at a time. Streams and REST answers become evidence (engine/ingest.py),
each piece journaled in its own transaction before anything acts on it; prices go to the
strategy (engine/decisions.py); its actions go out through the order desk (engine/orders.py);
what each order waits for is the resolver's table (engine/resolver.py); queries, the
reconciliation and drift are engine/reconcile.py and engine/drift.py. Single-threaded
asyncio: the ledger is only touched between awaits, so it needs no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from gridledger.config import Config
from gridledger.domain.grid import GridSpec
from gridledger.domain.numbers import opt_decimal
from gridledger.engine import events
from gridledger.engine.decisions import Decider
from gridledger.engine.drift import DriftReport
from gridledger.engine.events import EventBus
from gridledger.engine.executor import Caller
from gridledger.engine.exits import RiskGuard
from gridledger.engine.funding import FundingWatch
from gridledger.engine.ingest import Ingest
from gridledger.engine.markets import market_rules
from gridledger.engine.orders import OrderDesk
from gridledger.engine.perp import MarginGuard
from gridledger.engine.reconcile import Reconciler
from gridledger.engine.resolver import OrderResolver
from gridledger.engine.shared import EngineFatal, EngineStats, Shared, resolver_timings
from gridledger.engine.streams import Streams
from gridledger.exchange.port import ExchangePort
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.records import OrderRecord
from gridledger.store.exits import ExitRecord
from gridledger.store.journal import Journal
from gridledger.strategy import Decision, GridParams, MarketRules, StrategyState

__all__ = ["DriftReport", "EngineFatal", "EngineStats", "GridEngine"]


class GridEngine:
    """Public parts: ``ingest`` (evidence in), ``orders`` (place, cancel), ``reconciler``
    (query, answer_queries, reconcile, drift), ``decider`` (plan, on_price), ``resolver``
    (what each order waits for), ``streams``. Tests and the live runner use these and the
    methods below, never private attributes."""

    def __init__(
        self,
        exchange: ExchangePort,
        journal: Journal,
        config: Config,
        *,
        now_ms: Callable[[], int],
        dry_run: bool = False,
        seed: int = 0,
        on_plan: Callable[[Decision], None] | None = None,
        on_tick: Callable[[Decimal, int], None] | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        eng = config.engine
        caller = Caller(
            eng.rate_limit_per_s,
            eng.request_timeout_s,
            eng.order_retries,
            eng.request_weight_per_min,
            backoff_s=eng.call_retry_backoff_s,
            backoff_max_s=max(eng.call_retry_backoff_max_s, eng.call_retry_backoff_s),
        )
        self.sh = Shared(
            ex=exchange,
            journal=journal,
            ledger=ledger if ledger is not None else journal.ledger,
            config=config,
            grid=config.grid.spec(),
            now_ms=now_ms,
            caller=caller,
            resolver=OrderResolver(resolver_timings(eng)),
        )
        self.ingest = Ingest(self.sh)
        self.reconciler = Reconciler(self.sh, self.ingest)
        self.orders = OrderDesk(self.sh, self.ingest, request_reconcile=self.reconciler.request)
        self.streams = Streams(self.sh, seed=seed, request_reconcile=self.reconciler.request, on_tick=on_tick)
        self.decider = Decider(
            self.sh,
            self.orders,
            paused=self._paused_now,
            on_price_seen=self.reconciler.check_crossings,
            dry_run=dry_run,
            on_plan=on_plan,
        )
        # [risk]: a journaled exit is restored here, before anything can be placed (engine/exits.py).
        self.risk = RiskGuard(
            self.sh,
            self.orders,
            config.risk.limits(),
            reprice_s=config.risk.exit_reprice_s,
            rules=lambda: self.decider.rules,
            fee_pending=self.decider.fee_pending_levels,
            on_change=self._risk_changed,
        )
        self.decider.guard = self.risk
        # Perpetual grids ([perp], engine/perp.py, engine/funding.py): the margin guard pauses
        # opening orders above max_margin_ratio; funding payments are recorded once by id.
        linear = self.sh.grid.instrument.kind == "linear"
        self.margin: MarginGuard | None = MarginGuard(self.sh, config.perp) if linear else None
        self.funding: FundingWatch | None = FundingWatch(self.sh, config.perp) if linear else None
        if self.funding is not None:
            # Funding received minus paid is part of the grid's equity (max_drawdown, engine/exits.py).
            watch, settle = self.funding, self.sh.grid.instrument.settle or ""
            self.risk.funding = lambda: Decimal(watch.totals().get(settle, 0))
        # The pause switch: no new opening orders; closing sells go on.
        self._manual_pause = config.strategy.paused
        self._published_pause: tuple[str, ...] = ()  # the pause reasons watchers last heard
        self.left_live: list[str] = []  # cancel_on_exit: orders not confirmed ended at shutdown
        self._tasks: list[asyncio.Task[Any]] = []
        self._decider_task: asyncio.Task[None] | None = None
        self._killed = False

    # ------------------------------------------------------------------ what the parts hold
    @property
    def ex(self) -> ExchangePort:
        return self.sh.ex

    @property
    def journal(self) -> Journal:
        return self.sh.journal

    @property
    def ledger(self) -> Ledger:
        return self.sh.ledger

    @property
    def config(self) -> Config:
        return self.sh.config

    @property
    def caller(self) -> Caller:
        return self.sh.caller

    @property
    def stats(self) -> EngineStats:
        return self.sh.stats

    @property
    def resolver(self) -> OrderResolver:
        return self.sh.resolver

    @property
    def grid(self) -> GridSpec:
        return self.sh.grid

    @property
    def symbol(self) -> str:
        return self.sh.symbol

    @property
    def dry_run(self) -> bool:
        return self.decider.dry_run

    @property
    def rules(self) -> MarketRules | None:
        return self.decider.rules

    @property
    def params(self) -> GridParams | None:
        return self.decider.params

    @property
    def state(self) -> StrategyState:
        return self.sh.state

    @property
    def last_price(self) -> Decimal | None:
        return self.sh.last_price

    @property
    def drift(self) -> DriftReport:
        return self.reconciler.drift.report

    @property
    def drift_paused(self) -> bool:
        """Two drift readings in a row outside tolerance: opening orders wait."""
        return self.reconciler.drift.paused

    @property
    def twin_detected(self) -> str | None:
        """Why we believe another engine trades this grid (engine/ingest.py), or None."""
        return self.ingest.twin_detected

    @property
    def ready(self) -> bool:
        return self.sh.ready

    @property
    def events(self) -> EventBus:
        """What happened (fills, pauses, drift, reconnects...), for watchers (engine/events.py)."""
        return self.sh.events

    def mark_ready(self) -> None:
        """Decisions may begin: start() calls this after its startup reconciliation; a dry run
        (or a test driving the engine by hand) calls it after its own."""
        self.sh.ready = True

    # ------------------------------------------------------------------ pause
    @property
    def manual_pause(self) -> bool:
        """The operator's switch (SIGUSR1/SIGUSR2, the API, ``[strategy] paused``)."""
        return self._manual_pause

    @manual_pause.setter
    def manual_pause(self, on: bool) -> None:
        self._manual_pause = on
        self.publish_pause_state()
        self.sh.decide.set()  # a resume may place at once, without waiting for the next price

    def publish_pause_state(self) -> None:
        """PAUSE (with why) or RESUME when the reasons changed since watchers last heard.
        Called on every decision and by the switch: the reasons are computed, not tracked,
        so drift, anomalies and a twin are all covered by the one place that obeys them."""
        if not self.sh.events.watched:
            return
        reasons = tuple(r for r in self.pause_reasons if r != "stopping")
        if reasons == self._published_pause:
            return
        self._published_pause = reasons
        if reasons:
            self.sh.events.publish(events.PAUSE, self.sh.now_ms(), reason=", ".join(reasons))
        else:
            self.sh.events.publish(events.RESUME, self.sh.now_ms(), reason="")

    @property
    def risk_exit(self) -> ExitRecord | None:
        """The risk exit this grid took (journaled; cleared only by ``journal clear-exit``), or None."""
        return self.risk.exit

    def _risk_changed(self) -> None:
        self.publish_pause_state()
        self.sh.decide.set()  # the exit's next step (cancels done, closes to place) without waiting

    def _paused_now(self) -> bool:
        self.publish_pause_state()
        return self.paused

    @property
    def paused(self) -> bool:
        return bool(self.pause_reasons)

    @property
    def pause_reasons(self) -> list[str]:
        """Why opening orders are paused, for status lines and metrics."""
        reasons = []
        if self.twin_detected is not None:
            reasons.append("another engine is trading this grid")
        if self.drift_paused:
            reasons.append("drift")
        if self.ledger.anomalies:
            reasons.append("anomaly")
        if self._manual_pause:
            reasons.append("manual")
        if self.margin is not None and self.margin.paused:
            reasons.append(self.margin.reason)
        exit_reason = self.risk.pause_reason
        if exit_reason is not None:
            reasons.append(exit_reason)
        if self.sh.stopping:
            reasons.append("stopping")
        return reasons

    # ------------------------------------------------------------------ lifecycle
    async def prepare(self) -> None:
        """Markets, precision and limits; fail before anything is placed."""
        markets = await self.ex.load_markets()
        market = markets.get(self.symbol)
        if market is None:
            raise EngineFatal(f"the exchange has no market {self.symbol}")
        self.decider.rules = market_rules(self.ex, market)
        self.decider.params = self.config.strategy.params(self.grid)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down cleanly."""
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await self.start()
            done, _ = await asyncio.wait([stopper, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and not task.cancelled():
                    error = task.exception()
                    if error is not None:
                        raise error
        finally:
            stopper.cancel()
            if not self._killed:
                await self.shutdown(cancel_open=self.config.engine.cancel_on_exit)

    def clock(self) -> float:
        """The event loop's clock (the request budget's time), readable from another thread."""
        return self.sh.clock()

    async def start(self) -> None:
        self.sh.loop = asyncio.get_running_loop()
        if self.rules is None:
            await self.prepare()
        # Subscribe to every stream before the REST snapshot, so nothing falls in between;
        # decisions wait for the snapshot (on_price does nothing until ready).
        self._tasks.append(asyncio.ensure_future(self.streams.orders(self.ingest.order)))
        if self.ingest.reader.needs_trade_stream:
            self._tasks.append(asyncio.ensure_future(self.streams.trades(self.ingest.trade)))
        self._tasks.append(asyncio.ensure_future(self.streams.ticker()))
        for _ in range(3):
            await asyncio.sleep(0)
        await self.reconcile("startup")
        await self._start_perp()
        self.mark_ready()
        # Act on the current price now rather than on the next stream update.
        first = await self.caller.retry("fetch_ticker", lambda: self.ex.fetch_ticker(self.symbol))
        if first.value is not None:
            price = opt_decimal(first.value.get("last"), "ticker last")
            if price is not None and price > 0:
                self.sh.last_price = price
                self.sh.decide.set()
        self._decider_task = asyncio.ensure_future(self.decider.loop())
        self._tasks.append(self._decider_task)
        self._tasks.append(asyncio.ensure_future(self.reconciler.housekeeping()))

    async def _start_perp(self) -> None:
        """Funding book restored and margin read before the first decision (engine/perp.py)."""
        if self.funding is not None and self.funding.available:
            self.funding.open()
            self._tasks.append(asyncio.ensure_future(self.funding.loop()))
            if self.funding.streams:
                self._tasks.append(asyncio.ensure_future(self.funding.watch_stream()))
        if self.margin is not None and self.margin.available:
            await self.margin.check()
            self._tasks.append(asyncio.ensure_future(self.margin.loop()))

    async def shutdown(self, cancel_open: bool = False) -> None:
        """Stop placing; optionally cancel our open orders; flush the journal."""
        if not self.sh.stopping:
            self.sh.events.publish(events.STOP, self.sh.now_ms(), reason="shutdown")
        self.sh.stopping = True
        # Let an order in flight get its answer: cutting a create short would leave an
        # order the ledger cannot account for until it is queried again.
        self.sh.decide.set()
        if self._decider_task is not None and not self._decider_task.done():
            # Whatever ended it is reported by the task itself (run() re-raises it).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._decider_task), 2 * self.config.engine.request_timeout_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if cancel_open and not self.dry_run:
            self.left_live = await self.orders.cancel_all_at_exit(self.reconciler.query)
        self.journal.commit()

    def kill(self) -> None:
        """Stop at once, as a crash would: no cleanup, no final commit (chaos testing)."""
        self.sh.stopping = True
        self._killed = True
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    # ------------------------------------------------------------------ the parts' entry points
    async def reconcile(self, reason: str) -> None:
        """Open orders, live orders, trades since the cursor, drift (engine/reconcile.py)."""
        await self.reconciler.reconcile(reason)

    async def query(self, rec: OrderRecord) -> None:
        """Ask the exchange about one order and apply the answer (R6)."""
        await self.reconciler.query(rec)

    async def answer_queries(self) -> None:
        """Ask about every order whose query is due now."""
        await self.reconciler.answer_queries()

    async def check_drift(self, open_ids: set[str] | None = None) -> DriftReport:
        return await self.reconciler.drift.check(open_ids)

    def plan(self, price: Decimal) -> Decision:
        """What the strategy would do at this price, from the ledger as it stands (no I/O)."""
        return self.decider.plan(price)
