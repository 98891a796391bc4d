"""Reconciliation: queries by REST, answered by evidence (R6), on the schedule's clock.

What the engine never does: assume an order failed because a call timed out, assume an
order finished because it is missing from the open orders, or size anything from ccxt's
merged order cache. Each of those is a query here, and its answer goes through ingest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal
from functools import partial

import ccxt

from gridledger.domain.types import Side
from gridledger.engine import events
from gridledger.engine.drift import DriftCheck
from gridledger.engine.executor import Verdict
from gridledger.engine.ingest import Ingest
from gridledger.engine.resolver import OrderEvent
from gridledger.engine.schedule import EPSILON_S, ReconcileSchedule
from gridledger.engine.shared import EngineFatal, Shared
from gridledger.ledger.records import OrderRecord
from gridledger.logs import log_event, redact

log = logging.getLogger("gridledger.engine")


class Reconciler:
    def __init__(self, shared: Shared, ingest: Ingest) -> None:
        self.sh = shared
        self.ingest = ingest
        eng = shared.eng
        self.schedule = ReconcileSchedule(
            eng.reconcile_every_s, eng.reconcile_backoff_s, max(eng.reconcile_backoff_max_s, eng.reconcile_backoff_s)
        )
        self.drift = DriftCheck(shared)
        self.last_reconcile: tuple[int, str] | None = None  # (epoch ms, reason) of the latest start

    def request(self, reason: str) -> None:
        """Ask for a reconciliation; the schedule decides when it runs (never back to back)."""
        self.schedule.request(reason)
        self.sh.ask()

    # ------------------------------------------------------------------ single queries
    async def query(self, rec: OrderRecord) -> None:
        """Ask the exchange about one order and apply the answer (R6).

        However it ends, the order's entry in the resolver moved (answered, not found, no
        answer), and a closing order held while its query was pending may go now: the
        decider decides again if it held something (Shared.unblocked)."""
        try:
            await self._query(rec)
        finally:
            self.sh.unblocked()

    async def _query(self, rec: OrderRecord) -> None:
        sh = self.sh
        sh.stats.queries += 1
        params = {} if rec.order_id else {"clientOrderId": rec.client_id}
        result = await sh.caller.retry(
            f"fetch_order {rec.client_id}",
            lambda: sh.ex.fetch_order(rec.order_id, sh.symbol, params),
        )
        if result.value is not None:
            sh.resolver.fire(rec.client_id, OrderEvent.ANSWERED, sh.clock())
            self.ingest.order(result.value, "rest:query")
            rec = sh.ledger.order(rec.client_id) or rec
            if rec.order_id and rec.filled > 0 and rec.fees_incomplete():
                await self.fetch_order_trades(rec)
            return
        if result.verdict is Verdict.NOT_FOUND and rec.order_id is None and rec.live:
            # Never acknowledged and the exchange does not know it. Binance's REST can lag
            # its matching engine, so only a repeated answer after a gap counts (R6).
            if sh.resolver.not_found(rec.client_id, sh.clock()):
                self.ingest.reject_order(rec, ccxt.OrderNotFound("the exchange never received this order"))
            return
        sh.resolver.fire(rec.client_id, OrderEvent.NO_ANSWER, sh.clock())

    async def fetch_order_trades(self, rec: OrderRecord) -> None:
        sh = self.sh
        result = await sh.caller.retry(
            f"fetch_my_trades order {rec.order_id}",
            lambda: sh.ex.fetch_my_trades(sh.symbol, params={"orderId": rec.order_id}),
        )
        for trade in result.value or []:
            self.ingest.trade(trade, "rest:trades")

    async def query_order_id(self, order_id: str) -> None:
        sh = self.sh
        result = await sh.caller.retry(f"fetch_order {order_id}", lambda: sh.ex.fetch_order(order_id, sh.symbol))
        if result.value is not None:
            self.ingest.order(result.value, "rest:query")

    async def answer_queries(self) -> None:
        """Ask about every order whose query is due (engine/resolver.py), then about the
        exchange order ids of parked evidence."""
        sh = self.sh
        for client_id in sh.resolver.due(sh.clock()):
            rec = sh.ledger.order(client_id)
            if rec is None or not (rec.live or rec.fees_incomplete()):
                sh.resolver.fire(client_id, OrderEvent.FORGET, sh.clock())
                continue
            await self.query(rec)
        for order_id in sh.resolver.take_parked():
            await self.query_order_id(order_id)
        sh.unblocked()  # FORGET above ends a pending query without asking (a held close may go)

    def check_crossings(self, price: Decimal) -> None:
        """The market traded through a live order's price, and no fill has been seen: the
        fill's message may be late or lost (ccxt can hold one in its cache until the next
        message arrives). After cross_grace_s, ask the exchange about the order."""
        sh = self.sh
        now = sh.clock()
        through: set[str] = set()
        for rec in sh.ledger.live_orders():
            if rec.price is None or rec.order_id is None:
                continue
            if not (price < rec.price if rec.side is Side.BUY else price > rec.price):
                continue
            through.add(rec.client_id)
            if sh.resolver.crossing(rec.client_id, now):
                sh.ask()  # a query is due, or housekeeping shortens its wait to watch the grace
        sh.resolver.uncross_all_but(through, now)

    # ------------------------------------------------------------------ reconciliation
    async def fetch_trades_since_cursor(self) -> None:
        sh = self.sh
        cursor = sh.journal.cursors.last_trade_ms
        # Overlap: REST can lag the stream, and duplicates are free.
        since = cursor - int(sh.eng.trade_fetch_overlap_s * 1000) if cursor is not None else None
        if since is None:
            return  # a new journal: the open orders and order queries cover our history
        limit = sh.eng.trade_fetch_page
        for _ in range(sh.eng.trade_fetch_pages):
            result = await sh.caller.retry("fetch_my_trades", partial(sh.ex.fetch_my_trades, sh.symbol, since, limit))
            trades = result.value or []
            for trade in trades:
                self.ingest.trade(trade, "rest:trades")
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
        sh = self.sh
        self.schedule.started()
        sh.stats.reconciles += 1
        log_event(log, logging.INFO, "reconcile", reason=reason, drift_streak=self.schedule.drift_streak)
        sh.events.publish(events.RECONCILE, sh.now_ms(), reason=reason)
        self.last_reconcile = (sh.now_ms(), reason)
        result = await sh.caller.retry("fetch_open_orders", lambda: sh.ex.fetch_open_orders(sh.symbol))
        if result.value is None:
            if result.verdict is Verdict.FATAL:
                raise EngineFatal(f"fetch_open_orders: {redact(str(result.error))}")
            sh.stats.reconciles_failed += 1
            self.schedule.failed(sh.clock())
            return
        open_ids: set[str] = set()
        for order in result.value:
            self.ingest.order(order, "rest:open")
            for key in ("id", "clientOrderId"):
                if order.get(key):
                    open_ids.add(str(order[key]))
        for rec in sorted(sh.ledger.live_orders(), key=lambda r: r.client_id):
            if rec.client_id in open_ids or (rec.order_id is not None and rec.order_id in open_ids):
                continue
            await self.query(rec)
        await self.fetch_trades_since_cursor()
        sh.journal.commit()  # incomplete_orders() reads committed rows: include what is pending
        for client_id in sh.journal.incomplete_orders():
            incomplete = sh.ledger.order(client_id)
            if incomplete is not None and incomplete.order_id is not None:
                await self.fetch_order_trades(incomplete)
        for order_id in list(sh.ledger.parked_order_ids):
            await self.query_order_id(order_id)
        await self.answer_queries()
        report = await self.drift.check(open_ids)
        sh.resolver.prune({r.client_id for r in sh.ledger.live_orders()})
        self.schedule.finished(sh.clock(), drift=not self.drift.within(report))
        sh.unblocked()  # a drift pause may have lifted: opening orders the last decision left out

    async def housekeeping(self) -> None:
        """Answers queries as they come; reconciles when the schedule says (engine/schedule.py):
        never back to back, and backing off while drift persists."""
        sh = self.sh
        while not sh.stopping:
            remaining = self.schedule.wait_s(sh.clock())
            if remaining > EPSILON_S:
                timeout = min(remaining, sh.eng.busy_poll_s) if sh.resolver.busy() else remaining
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sh.wake.wait(), timeout)
                sh.wake.clear()
            if sh.last_price is not None and any(e.crossed_at is not None for e in sh.resolver.orders.values()):
                self.check_crossings(sh.last_price)
            reason = self.schedule.due(sh.clock())
            if reason is not None:
                await self.reconcile(reason)
            else:
                await self.answer_queries()
