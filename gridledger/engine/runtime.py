"""The engine: the imperative shell around the ledger and the strategy.

Data moves one way at a time. Streams and REST answers become evidence, each piece
journaled in its own transaction before anything acts on it; prices go to the strategy;
the strategy's actions go out through the executor. Single-threaded asyncio: the ledger
is only touched between awaits, so it needs no locks.

What the engine never does: assume an order failed because a call timed out, assume an
order finished because it is missing from the open orders, or size anything from ccxt's
merged order cache. Each of those is a query, answered by evidence.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Awaitable, Callable

import ccxt

from gridledger.config import Config
from gridledger.domain.coid import decode
from gridledger.domain.numbers import ZERO, InputError, opt_decimal
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.engine.evidence_reader import EvidenceReader, dump
from gridledger.engine.executor import Caller, Verdict
from gridledger.engine.markets import market_rules
from gridledger.engine.schedule import EPSILON_S, ReconcileSchedule
from gridledger.exchange.port import ExchangePort
from gridledger.ledger.evidence import Evidence, OrderEvidence, TradeEvidence
from gridledger.ledger.outcomes import Outcome, OutcomeKind
from gridledger.ledger.records import OrderRecord
from gridledger.logs import log_event, redact
from gridledger.store.journal import Journal
from gridledger.strategy import (
    Cancel,
    Decision,
    GridParams,
    LiveOrder,
    MarketRules,
    Place,
    SlotView,
    StrategyState,
    decide,
)

log = logging.getLogger("gridledger.engine")


class EngineFatal(RuntimeError):
    """A condition the engine must not trade through (bad credentials, unknown symbol)."""


@dataclass(slots=True)
class EngineStats:
    ticks: int = 0
    placed: int = 0
    canceled: int = 0
    rejected: int = 0
    post_only_rejects: int = 0
    unknown_creates: int = 0
    queries: int = 0
    reconciles: int = 0
    reconciles_failed: int = 0
    reconnects: int = 0
    drift_pauses: int = 0
    twin_evidence: int = 0  # evidence of another engine trading this grid (see _check_twin)
    bad_messages: int = 0
    planned: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(slots=True)
class DriftReport:
    base_drift: Decimal = ZERO
    missing_on_exchange: list[str] = field(default_factory=list)  # ledger live, exchange not open

    @property
    def ok(self) -> bool:
        # (Open orders the ledger does not hold live are ingested by the same reconciliation:
        # ours become records through their client id, others are FOREIGN and not the grid's.)
        return self.base_drift == 0 and not self.missing_on_exchange


class GridEngine:
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
    ) -> None:
        self.ex = exchange
        self.journal = journal
        self.ledger = journal.ledger
        self.config = config
        self.grid = config.grid.spec()
        self.symbol = self.grid.symbol
        self.now_ms = now_ms
        self.dry_run = dry_run
        self.on_plan = on_plan
        self.on_tick = on_tick
        self.reader = EvidenceReader(exchange.id, self.grid.instrument)
        eng = config.engine
        self.caller = Caller(eng.rate_limit_per_s, eng.request_timeout_s, eng.order_retries,
                             eng.request_weight_per_min)
        self.schedule = ReconcileSchedule(eng.reconcile_every_s, eng.reconcile_backoff_s,
                                          max(eng.reconcile_backoff_max_s, eng.reconcile_backoff_s))
        self.stats = EngineStats()
        self.rules: MarketRules | None = None
        self.params: GridParams | None = None
        self.state = StrategyState()
        self.last_price: Decimal | None = None
        self.drift = DriftReport()
        self._rng = random.Random(seed)
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False
        self._killed = False
        self._ready = False
        self._wake = asyncio.Event()
        self._decide = asyncio.Event()
        self._decider: asyncio.Task[None] | None = None
        self._queries: set[str] = set()  # client ids to ask the exchange about
        self._parked_queries: set[str] = set()  # exchange order ids of parked evidence
        self._unknown: dict[str, float] = {}  # client id -> loop time its create went unanswered
        self._not_found: dict[str, tuple[int, float]] = {}
        self._cancel_sent: dict[str, float] = {}
        self._crossed: dict[str, float] = {}  # client id -> when the price first went through it
        self._level_backoff: dict[int, tuple[float, float]] = {}  # level -> (retry after, last delay)
        self._drift_strikes = 0
        self._drift_paused = False
        self.twin_detected: str | None = None  # why we believe another engine trades this grid
        self._loop: asyncio.AbstractEventLoop | None = None
        self.left_live: list[str] = []  # cancel_on_exit: orders not confirmed ended at shutdown
        self._last_plan: tuple | None = None
        # The pause switch: no new opening orders; closing sells go on.
        self.manual_pause = config.strategy.paused
        cursor = journal.get_meta("trade_cursor_ms")
        self._trade_cursor = int(cursor) if cursor is not None else 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def paused(self) -> bool:
        return (
            self.manual_pause
            or self._drift_paused
            or bool(self.ledger.anomalies)
            or self._stopping
            or self.twin_detected is not None
        )

    @property
    def pause_reasons(self) -> list[str]:
        """Why opening orders are paused, for status lines and metrics."""
        reasons = []
        if self.twin_detected is not None:
            reasons.append("another engine is trading this grid")
        if self._drift_paused:
            reasons.append("drift")
        if self.ledger.anomalies:
            reasons.append("anomaly")
        if self.manual_pause:
            reasons.append("manual")
        if self._stopping:
            reasons.append("stopping")
        return reasons

    async def prepare(self) -> None:
        """Markets, precision and limits; fail before anything is placed."""
        markets = await self.ex.load_markets()
        market = markets.get(self.symbol)
        if market is None:
            raise EngineFatal(f"the exchange has no market {self.symbol}")
        self.rules = market_rules(self.ex, market)
        s = self.config.strategy
        self.params = GridParams(
            anchor=self.grid.anchor,
            interval=self.grid.interval,
            quote_per_level=s.quote_per_level,
            buy_window=s.buy_window,
            max_open_orders=s.max_open_orders,
            post_only=s.post_only,
            post_only_retries=s.post_only_retries,
            taker_fallback=s.taker_fallback,
            post_only_close=s.post_only_close,
            hysteresis=s.hysteresis,
            lower_price=s.lower_price,
            upper_price=s.upper_price,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down cleanly."""
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await self.start()
            done, _ = await asyncio.wait([stopper, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            stopper.cancel()
            if not self._killed:
                await self.shutdown(cancel_open=self.config.engine.cancel_on_exit)

    def clock(self) -> float:
        """The event loop's clock (the request budget's time), readable from another thread."""
        return self._loop.time() if self._loop is not None else 0.0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.rules is None:
            await self.prepare()
        # Subscribe to every stream before the REST snapshot, so nothing falls in between;
        # decisions wait for the snapshot (on_price does nothing until ready).
        self._tasks.append(asyncio.ensure_future(self._orders_loop()))
        if self.reader.needs_trade_stream:
            self._tasks.append(asyncio.ensure_future(self._trades_loop()))
        self._tasks.append(asyncio.ensure_future(self._ticker_loop()))
        for _ in range(3):
            await asyncio.sleep(0)
        await self.reconcile("startup")
        self._ready = True
        # Act on the current price now rather than on the next stream update.
        first = await self.caller.retry("fetch_ticker", lambda: self.ex.fetch_ticker(self.symbol))
        if first.value is not None:
            price = opt_decimal(first.value.get("last"), "ticker last")
            if price is not None and price > 0:
                self.last_price = price
                self._decide.set()
        self._decider = asyncio.ensure_future(self._decision_loop())
        self._tasks.append(self._decider)
        self._tasks.append(asyncio.ensure_future(self._housekeeping_loop()))

    async def shutdown(self, cancel_open: bool = False) -> None:
        """Stop placing; optionally cancel our open orders; flush the journal."""
        self._stopping = True
        # Let an order in flight get its answer: cutting a create short would leave an
        # order the ledger cannot account for until it is queried again.
        self._decide.set()
        if self._decider is not None and not self._decider.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._decider), 2 * self.config.engine.request_timeout_s)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - reported by the task itself
                pass
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if cancel_open and not self.dry_run:
            await self._cancel_all_at_exit()
        self.journal.commit()

    async def _cancel_all_at_exit(self) -> None:
        """cancel_on_exit: cancel every live order and check each one ended (R6: only
        evidence says it did). What is still live afterwards is left in ``left_live`` for the
        caller to report: with the exchange down, those orders may still trade."""
        retries = self.caller.retries
        try:
            for rec in list(self.ledger.live_orders()):
                await self._cancel(Cancel(rec.level, rec.client_id, "shutdown"), force=True)
                now = self.ledger.order(rec.client_id)
                if now is not None and now.live:
                    await self.query(now)  # not found or no answer: it may have filled meanwhile
                    after = self.ledger.order(rec.client_id)
                    if after is not None and after.live:
                        # No answer even after retries: the exchange is unreachable. One try
                        # each for the rest, so stopping does not take minutes.
                        self.caller.retries = 0
        finally:
            self.caller.retries = retries
        self.left_live = sorted(r.client_id for r in self.ledger.live_orders())
        if self.left_live:
            log_event(log, logging.ERROR, "orders may still be live on the exchange after shutdown",
                      count=len(self.left_live), client_ids=",".join(self.left_live))

    def kill(self) -> None:
        """Stop at once, as a crash would: no cleanup, no final commit (chaos testing)."""
        self._stopping = True
        self._killed = True
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    # ------------------------------------------------------------------ evidence in
    def ingest_order(self, order: dict[str, Any], source: str) -> list[Outcome]:
        try:
            raw, parsed = self.reader.read_order(order, source)
        except InputError as exc:
            return [self._bad_message(order, str(exc), source)]
        return self._apply(raw, parsed.items, source)

    def ingest_trade(self, trade: dict[str, Any], source: str) -> list[Outcome]:
        try:
            raw, parsed = self.reader.read_trade(trade, source)
        except InputError as exc:
            return [self._bad_message(trade, str(exc), source)]
        return self._apply(raw, parsed.items, source)

    def _bad_message(self, structure: Any, reason: str, source: str) -> Outcome:
        self.stats.bad_messages += 1
        return self.journal.record_rejection(dump(structure.get("info", structure) if isinstance(structure, dict)
                                                  else structure), reason, source=source,
                                             received_at=self.now_ms())

    def _apply(self, raw: str, items: tuple[Evidence, ...] | list[Evidence], source: str) -> list[Outcome]:
        for ev in items:
            # The newest fill seen, from any source: where "trades since" starts after a restart.
            if isinstance(ev, TradeEvidence) and ev.timestamp is not None and ev.timestamp > self._trade_cursor:
                self._trade_cursor = ev.timestamp
                self.journal.set_meta("trade_cursor_ms", str(ev.timestamp))
        for ev in items:
            self._check_twin(ev, source)
        outcomes = self.journal.apply_message(raw, items, source=source, received_at=self.now_ms())
        for out in outcomes:
            self._follow_up(out)
            for rel in out.released:
                self._follow_up(rel)
        return outcomes

    def _check_twin(self, ev: Evidence, source: str) -> None:
        """Another engine trading this grid on this account, with its own journal.

        It sends orders under our client-id scheme (R7), so its orders decode as ours. R7
        applies evidence for one of our ids with no record (an instant fill before the place
        call returned, a lost or older database), and that must keep working: the startup
        reconciliation recovers what a lost journal forgot, so nothing is judged before it
        has run. After it, this journal is intact and every generation we send is persisted
        before it is sent (R7), so evidence for our grid id with no record at a generation
        at or past the slot's next one, or naming another exchange order under one of our
        client ids, is an order this engine never sent. The evidence is still applied (the
        account's position is the truth, and the ledger keeps matching it); opening orders
        stop until a restart, because two engines would each buy every level. Closing sells
        go on: they only sell inventory this ledger holds, and a second sell of the same
        inventory is refused by the venue for lack of balance, not executed.
        """
        client_id = ev.client_id
        if not self._ready or not client_id:
            return
        cid = decode(client_id)
        if cid is None or cid.grid_id != self.grid.grid_id:
            return
        rec = self.ledger.order(client_id)
        if rec is None:
            slot = self.ledger.slots.get(cid.level)
            next_gen = slot.next_gen if slot is not None else 0
            if cid.generation < next_gen:
                return  # a generation this journal allocated: R7 recovery, not a twin
            why = f"generation {cid.generation} at level {cid.level} was never sent (next is {next_gen})"
        elif ev.order_id is not None and rec.order_id is not None and ev.order_id != rec.order_id:
            why = f"exchange order {ev.order_id} carries our client id of exchange order {rec.order_id}"
        else:
            return
        self.stats.twin_evidence += 1
        first = self.twin_detected is None
        self.twin_detected = why
        log_event(log, logging.ERROR, "another engine is trading this grid: opening orders paused",
                  client_id=client_id, reason=why, source=source, first=first,
                  action="stop the other engine (same grid id on the same account), then restart this one")

    def _follow_up(self, out: Outcome) -> None:
        """Evidence that shows a gap asks the exchange: never fill a gap by assumption.

        Evidence that changed a slot (a fill, an order finished) asks for a new decision,
        so a filled buy gets its closing sell without waiting for the next price."""
        if out.kind is OutcomeKind.APPLIED and (
            out.status_after != out.status_before or out.filled_delta or out.slot_qty_delta
        ):
            self._decide.set()
        if out.gap:
            if out.client_id:
                self._queries.add(out.client_id)
            elif out.order_id:
                self._parked_queries.add(out.order_id)
            self._wake.set()
        if out.client_id and out.client_id in self._unknown and out.kind is OutcomeKind.APPLIED:
            self._unknown.pop(out.client_id, None)

    def _reject_order(self, rec: OrderRecord, error: BaseException) -> None:
        """The exchange refused the order: that answer is evidence it never existed."""
        ev = OrderEvidence(
            symbol=self.symbol,
            order_id=None,
            client_id=rec.client_id,
            status=OrderStatus.REJECTED,
            side=rec.side,
            amount=rec.amount,
            price=rec.price,
            filled=ZERO,
            cost=ZERO,
            fees=(),
            timestamp=self.now_ms(),
            event_id=f"rejected:{rec.client_id}",
            source="rest:error",
        )
        raw = dump({"error": type(error).__name__, "message": redact(str(error))[:500], "clientOrderId": rec.client_id})
        self._apply(raw, [ev], "rest:error")

    # ------------------------------------------------------------------ streams
    async def _backoff(self, attempt: int) -> None:
        delay = min(30.0, 0.5 * 2 ** min(attempt, 6))
        await asyncio.sleep(delay * (0.5 + self._rng.random()))

    async def _stream(self, name: str, watch: Callable[[], Awaitable[list[dict[str, Any]]]],
                      handle: Callable[[dict[str, Any], str], list[Outcome]]) -> None:
        attempt = 0
        idle = self.config.engine.stream_idle_s
        while not self._stopping:
            try:
                updates = await asyncio.wait_for(watch(), idle)
            except asyncio.TimeoutError:
                # A quiet stream, or a dead one: a venue can end a subscription without waking
                # the pending watch (Binance eventStreamTerminated), and a socket can stall.
                # Watching again resubscribes if needed; reconcile in case something was missed.
                self._request_reconcile("idle")
                continue
            except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
                if isinstance(exc, (ccxt.AuthenticationError, ccxt.BadSymbol)):
                    raise EngineFatal(f"{name} stream: {redact(str(exc))}") from exc
                self.stats.reconnects += 1
                log_event(log, logging.WARNING, "stream disconnected", stream=name, error=type(exc).__name__,
                          message=redact(str(exc))[:200], attempt=attempt)
                # ccxt does not replay what was missed: reconcile by REST after reconnecting.
                self._request_reconcile("reconnect")
                await self._backoff(attempt)
                attempt += 1
                continue
            attempt = 0
            for update in updates:
                handle(update, f"ws:{name}")

    async def _orders_loop(self) -> None:
        # All symbols, not only ours: ccxt would silently drop another market's updates, and
        # the ledger should see (and reject, with a log line) whatever the account stream says.
        await self._stream("orders", lambda: self.ex.watch_orders(), self.ingest_order)

    async def _trades_loop(self) -> None:
        await self._stream("trades", lambda: self.ex.watch_my_trades(), self.ingest_trade)

    async def _ticker_loop(self) -> None:
        """Only records prices: a decision in progress must not make it miss an update."""
        attempt = 0
        while not self._stopping:
            try:
                ticker = await self.ex.watch_ticker(self.symbol)
            except ccxt.NetworkError as exc:
                log_event(log, logging.WARNING, "ticker stream disconnected", error=type(exc).__name__,
                          message=redact(str(exc))[:200], attempt=attempt)
                await self._backoff(attempt)
                attempt += 1
                continue
            attempt = 0
            try:
                price = opt_decimal(ticker.get("last"), "ticker last")
            except InputError as exc:
                log_event(log, logging.WARNING, "bad ticker ignored", reason=str(exc))
                continue
            if price is None or price <= 0:
                continue
            self.stats.ticks += 1
            if self.on_tick is not None:
                self.on_tick(price, self.now_ms())
            self.last_price = price
            self._decide.set()

    async def _decision_loop(self) -> None:
        """Decide on the latest price whenever it moves or the ledger's slots change."""
        while not self._stopping:
            await self._decide.wait()
            self._decide.clear()
            if self.last_price is not None:
                await self.on_price(self.last_price)

    def _request_reconcile(self, reason: str) -> None:
        self.schedule.request(reason)
        self._wake.set()

    async def _housekeeping_loop(self) -> None:
        """Answers queries as they come; reconciles when the schedule says (engine/schedule.py):
        never back to back, and backing off while drift persists."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            remaining = self.schedule.wait_s(loop.time())
            if remaining > EPSILON_S:
                busy = self._unknown or self._queries or self._crossed
                timeout = min(remaining, 1.0) if busy else remaining
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()
            if self._crossed and self.last_price is not None:
                self._check_crossings(self.last_price)
            reason = self.schedule.due(loop.time())
            if reason is not None:
                await self.reconcile(reason)
            else:
                await self._answer_queries()

    # ------------------------------------------------------------------ strategy
    def slot_views(self) -> dict[int, SlotView]:
        views: dict[int, SlotView] = {}
        for level, slot in self.ledger.slots.items():
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
                    price=bound.price or self.grid.level_price(level),
                    amount=bound.amount or ZERO,
                    filled=bound.filled,
                )
            views[level] = SlotView(level=level, qty=max(qty, ZERO), live=live)
        return views

    def _fee_pending_levels(self) -> set[int]:
        """Slots whose last orders' fees are not all known: do not size a sell from them yet."""
        levels = set()
        for client_id in list(self._queries):
            rec = self.ledger.order(client_id)
            if rec is not None and rec.fees_incomplete():
                levels.add(rec.level)
        return levels

    def plan(self, price: Decimal) -> Decision:
        """What the strategy would do at this price, from the ledger as it stands (no I/O)."""
        assert self.params is not None and self.rules is not None, "prepare() first"
        return decide(self.state, self.params, self.rules, price, self.slot_views(), paused=self.paused)

    def _check_crossings(self, price: Decimal) -> None:
        """The market traded through a live order's price, and no fill has been seen: the
        fill's message may be late or lost (ccxt can hold one in its cache until the next
        message arrives). After a grace period, ask the exchange about the order."""
        loop_time = asyncio.get_running_loop().time()
        grace = self.config.engine.cross_grace_s
        crossed = {}
        for rec in self.ledger.live_orders():
            if rec.price is None or rec.order_id is None:
                continue
            through = price < rec.price if rec.side is Side.BUY else price > rec.price
            if not through:
                continue
            since = self._crossed.get(rec.client_id)
            if since is None:
                since = loop_time
                self._wake.set()  # the housekeeping loop shortens its wait to watch the grace
            crossed[rec.client_id] = since
            if loop_time - since >= grace and rec.client_id not in self._queries:
                self._queries.add(rec.client_id)
                crossed[rec.client_id] = loop_time  # ask again only after another grace period
                self._wake.set()
        self._crossed = crossed

    async def on_price(self, price: Decimal) -> None:
        self.last_price = price
        if not self._ready or self._stopping or self.params is None or self.rules is None:
            return
        self._check_crossings(price)
        decision = self.plan(price)
        self.state = decision.state
        if self.dry_run:
            plan = tuple(decision.actions)
            if plan and plan != self._last_plan:
                self.stats.planned += len(plan)
                if self.on_plan is not None:
                    self.on_plan(decision)
            self._last_plan = plan
            return
        hold = self._fee_pending_levels()
        now = asyncio.get_running_loop().time()
        for action in decision.actions:
            if self._stopping:
                return
            if isinstance(action, Cancel):
                await self._cancel(action)
            elif isinstance(action, Place):
                if action.role is Role.CLOSE and action.level in hold:
                    continue
                waiting = self._level_backoff.get(action.level)
                if waiting is not None and now < waiting[0]:
                    continue
                if self.paused and action.role is Role.OPEN:
                    continue
                await self._place(action)

    # ------------------------------------------------------------------ orders out
    async def _place(self, action: Place) -> None:
        rec = self.ledger.new_order(action.level, action.side, action.role, action.amount, action.price)
        # R7: the generation is durable before the order can exist on the exchange.
        self.journal.record_intent(
            dump({"place": rec.client_id, "level": rec.level, "side": rec.side.value, "role": rec.role.value,
                  "amount": str(action.amount), "price": str(action.price), "post_only": action.post_only}),
            received_at=self.now_ms(),
        )
        self.stats.placed += 1
        params: dict[str, Any] = {"clientOrderId": rec.client_id}
        if action.post_only:
            params["postOnly"] = True
        result = await self.caller.once(
            f"create_order {rec.client_id}",
            lambda: self.ex.create_order(self.symbol, "limit", action.side.value, str(action.amount),
                                         str(action.price), params),
        )
        if result.value is not None:
            self.ingest_order(result.value, "rest:create")
            self.state = self.state.on_accepted(action.level)
            self._level_backoff.pop(action.level, None)
            return
        verdict = result.verdict
        assert result.error is not None
        if verdict is Verdict.POST_ONLY:
            self.stats.post_only_rejects += 1
            self._reject_order(rec, result.error)
            self.state = self.state.on_post_only_reject(action.level)
        elif verdict is Verdict.REJECTED:
            self.stats.rejected += 1
            self._reject_order(rec, result.error)
            # The same order would be refused again on the next tick: wait before retrying
            # this level, longer each time, so a persistent refusal does not hammer the venue.
            loop_time = asyncio.get_running_loop().time()
            _, previous = self._level_backoff.get(action.level, (0.0, 0.0))
            delay = min(600.0, max(5.0, previous * 2))
            self._level_backoff[action.level] = (loop_time + delay, delay)
            log_event(log, logging.WARNING, "order refused: level waits", level=action.level,
                      seconds=delay, error=type(result.error).__name__, message=redact(str(result.error))[:200])
            if isinstance(result.error, ccxt.InsufficientFunds):
                self._request_reconcile("query")  # balances disagree with the ledger: check drift
        elif verdict is Verdict.FATAL:
            raise EngineFatal(f"create_order refused: {redact(str(result.error))}")
        else:
            # Timeout, network error, duplicate id: the order may exist. Ask, by client id.
            self.stats.unknown_creates += 1
            self._unknown[rec.client_id] = asyncio.get_running_loop().time()
            self._queries.add(rec.client_id)
            self._wake.set()

    async def _cancel(self, action: Cancel, force: bool = False) -> None:
        rec = self.ledger.order(action.client_id)
        if rec is None or not rec.live:
            return
        now = asyncio.get_running_loop().time()
        last = self._cancel_sent.get(rec.client_id)
        if last is not None and now - last < 5.0 and not force:
            return
        self._cancel_sent[rec.client_id] = now
        self.stats.canceled += 1
        params = {} if rec.order_id else {"clientOrderId": rec.client_id}
        result = await self.caller.retry(
            f"cancel_order {rec.client_id}",
            lambda: self.ex.cancel_order(rec.order_id, self.symbol, params),
        )
        if result.value is not None:
            self.ingest_order(result.value, "rest:cancel")
        else:
            # Not found or no answer: it may have filled. Ask, never assume (R6).
            self._queries.add(rec.client_id)
            self._wake.set()

    # ------------------------------------------------------------------ reconciliation
    async def query(self, rec: OrderRecord) -> None:
        """Ask the exchange about one order and apply the answer (R6)."""
        self.stats.queries += 1
        params = {} if rec.order_id else {"clientOrderId": rec.client_id}
        result = await self.caller.retry(
            f"fetch_order {rec.client_id}",
            lambda: self.ex.fetch_order(rec.order_id, self.symbol, params),
        )
        if result.value is not None:
            self._not_found.pop(rec.client_id, None)
            self.ingest_order(result.value, "rest:query")
            rec = self.ledger.order(rec.client_id) or rec
            if rec.order_id and rec.filled > 0 and rec.fees_incomplete():
                await self._fetch_order_trades(rec)
            return
        if result.verdict is Verdict.NOT_FOUND and rec.order_id is None and rec.live:
            # Never acknowledged and the exchange does not know it. Binance's REST can lag
            # its matching engine, so only a repeated answer after a grace period counts.
            loop = asyncio.get_running_loop()
            count, first = self._not_found.get(rec.client_id, (0, loop.time()))
            count += 1
            if count >= 2 and loop.time() - first >= 3.0:
                self._not_found.pop(rec.client_id, None)
                self._unknown.pop(rec.client_id, None)
                self._reject_order(rec, ccxt.OrderNotFound("the exchange never received this order"))
            else:
                self._not_found[rec.client_id] = (count, first)
                self._queries.add(rec.client_id)

    async def _fetch_order_trades(self, rec: OrderRecord) -> None:
        result = await self.caller.retry(
            f"fetch_my_trades order {rec.order_id}",
            lambda: self.ex.fetch_my_trades(self.symbol, params={"orderId": rec.order_id}),
        )
        for trade in result.value or []:
            self.ingest_trade(trade, "rest:trades")

    async def _query_order_id(self, order_id: str) -> None:
        result = await self.caller.retry(
            f"fetch_order {order_id}", lambda: self.ex.fetch_order(order_id, self.symbol)
        )
        if result.value is not None:
            self.ingest_order(result.value, "rest:query")

    async def _answer_queries(self) -> None:
        loop = asyncio.get_running_loop()
        pending, self._queries = self._queries, set()
        for client_id in sorted(pending):
            first = self._unknown.get(client_id)
            if first is not None and loop.time() - first < 1.0:
                self._queries.add(client_id)  # give an unanswered create a moment to land
                continue
            rec = self.ledger.order(client_id)
            if rec is None:
                continue
            if rec.live or rec.fees_incomplete():
                await self.query(rec)
        parked, self._parked_queries = self._parked_queries, set()
        for order_id in sorted(parked):
            await self._query_order_id(order_id)

    async def _fetch_trades_since_cursor(self) -> None:
        cursor = self.journal.get_meta("trade_cursor_ms")
        # Overlap by a minute: REST can lag the stream, and duplicates are free.
        since = int(cursor) - 60_000 if cursor is not None else None
        if since is None:
            return  # a new journal: the open orders and order queries cover our history
        limit = 500
        for _ in range(100):
            result = await self.caller.retry(
                "fetch_my_trades", lambda: self.ex.fetch_my_trades(self.symbol, since, limit)
            )
            trades = result.value or []
            for trade in trades:
                self.ingest_trade(trade, "rest:trades")
            if len(trades) < limit:
                return
            last = trades[-1].get("timestamp")
            if not isinstance(last, int) or last <= since:
                return
            since = last

    async def reconcile(self, reason: str) -> None:
        """Open orders, every order the ledger thinks live, trades since the cursor, drift.

        ``reason`` says truthfully why it runs (startup, periodic, reconnect, idle, drift,
        query, retry, or a caller's own word): it is logged and is what an operator reads
        when the request rate looks wrong."""
        loop = asyncio.get_running_loop()
        self.schedule.started()
        self.stats.reconciles += 1
        log_event(log, logging.INFO, "reconcile", reason=reason, drift_streak=self.schedule.drift_streak)
        result = await self.caller.retry("fetch_open_orders", lambda: self.ex.fetch_open_orders(self.symbol))
        if result.value is None:
            if result.verdict is Verdict.FATAL:
                raise EngineFatal(f"fetch_open_orders: {redact(str(result.error))}")
            self.stats.reconciles_failed += 1
            self.schedule.failed(loop.time())
            return
        open_ids: set[str] = set()
        for order in result.value:
            self.ingest_order(order, "rest:open")
            for key in ("id", "clientOrderId"):
                if order.get(key):
                    open_ids.add(str(order[key]))
        for rec in sorted(self.ledger.live_orders(), key=lambda r: r.client_id):
            if rec.client_id in open_ids or (rec.order_id is not None and rec.order_id in open_ids):
                continue
            await self.query(rec)
        await self._fetch_trades_since_cursor()
        for client_id in self.journal.incomplete_orders():
            rec = self.ledger.order(client_id)
            if rec is not None and rec.order_id is not None:
                await self._fetch_order_trades(rec)
        for order_id in list(self.ledger.parked_order_ids):
            await self._query_order_id(order_id)
        await self._answer_queries()
        report = await self.check_drift(open_ids)
        self.schedule.finished(loop.time(), drift=not self._drift_within(report))

    async def _exchange_position(self) -> Decimal | None:
        """What the exchange says the account holds: the base balance for spot, the
        position (contracts x contract size) for a linear contract."""
        inst = self.grid.instrument
        if inst.kind == "spot":
            result = await self.caller.retry("fetch_balance", lambda: self.ex.fetch_balance())
            if result.value is None:
                return None
            return opt_decimal((result.value.get(inst.base) or {}).get("total"), f"{inst.base} balance") or ZERO
        fetch = getattr(self.ex, "fetch_positions", None)
        if fetch is None:
            return None
        result = await self.caller.retry("fetch_positions", lambda: fetch([self.symbol]))
        if result.value is None:
            return None
        total = ZERO
        for pos in result.value:
            if pos.get("symbol") != self.symbol:
                continue
            contracts = opt_decimal(pos.get("contracts"), "position contracts") or ZERO
            size = opt_decimal(pos.get("contractSize"), "contract size") or inst.contract_size
            total += -contracts * size if pos.get("side") == "short" else contracts * size
        return total

    async def check_drift(self, open_ids: set[str] | None = None) -> DriftReport:
        """Sum of slots against the exchange's balance, live orders against open orders."""
        total = await self._exchange_position()
        if total is None:
            return self.drift
        baseline_text = self.journal.get_meta("baseline_base")
        if baseline_text is None:
            baseline = total - self.ledger.position
            self.journal.set_meta("baseline_base", str(baseline))
            self.journal.commit()
        else:
            baseline = Decimal(baseline_text)
        report = DriftReport(base_drift=total - baseline - self.ledger.position)
        if open_ids is not None:
            live = {r.client_id: r for r in self.ledger.live_orders()}
            # Only acknowledged orders: one still in flight (or unanswered, being resolved by
            # its client id) is not open yet, and that is not drift.
            report.missing_on_exchange = sorted(
                c for c, r in live.items()
                if r.order_id is not None and c not in open_ids and r.order_id not in open_ids
            )
        within = self._drift_within(report)
        if within:
            self._drift_strikes = 0
            if self._drift_paused:
                log_event(log, logging.WARNING, "drift back within tolerance: opening orders resume")
            self._drift_paused = False
            if self.ledger.anomalies:
                # R4: the venue agrees, so the overfill is reconciled. The clearing is
                # journaled now: until it is, a restart still finds the anomaly (item 8).
                self.ledger.clear_anomalies()
                self.journal.commit()
        else:
            self._drift_strikes += 1
            # Fills in flight make one reading differ; two in a row pause opening orders.
            if self._drift_strikes >= 2 and not self._drift_paused:
                self._drift_paused = True
                self.stats.drift_pauses += 1
                log_event(log, logging.WARNING, "drift outside tolerance: opening orders paused",
                          base_drift=report.base_drift, missing=",".join(report.missing_on_exchange))
        self.drift = report
        return report

    def _drift_within(self, report: DriftReport) -> bool:
        return abs(report.base_drift) <= self.config.engine.drift_tolerance and not report.missing_on_exchange
