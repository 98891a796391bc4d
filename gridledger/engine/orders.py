"""Orders out: place and cancel through the executor (rate limit, weight budget, retries).

A create is never retried blindly: its failure is classified (engine/executor.py) and an
unanswered one is resolved by a query by client id (R6). The resolver (engine/resolver.py)
records what each order is waiting for.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt

from gridledger.domain.types import Role
from gridledger.engine.evidence_reader import dump
from gridledger.engine.executor import Verdict
from gridledger.engine.ingest import Ingest
from gridledger.engine.perp import closes_reduce_only
from gridledger.engine.resolver import OrderEvent
from gridledger.engine.shared import EngineFatal, Shared
from gridledger.ledger.records import OrderRecord
from gridledger.logs import log_event, redact
from gridledger.strategy import Cancel, Place

log = logging.getLogger("gridledger.engine")


class OrderDesk:
    def __init__(self, shared: Shared, ingest: Ingest, *, request_reconcile: Callable[[str], None]) -> None:
        self.sh = shared
        self.ingest = ingest
        self.request_reconcile = request_reconcile

    async def place(self, action: Place) -> None:
        """Send one order. The answer updates the strategy's state (accepted, or a post-only
        refusal counted toward its retries), a refusal makes its level wait, no answer makes
        the order a query."""
        sh = self.sh
        rec = sh.ledger.new_order(action.level, action.side, action.role, action.amount, action.price)
        # R7: the generation is durable before the order can exist on the exchange.
        sh.journal.record_intent(
            dump(
                {
                    "place": rec.client_id,
                    "level": rec.level,
                    "side": rec.side.value,
                    "role": rec.role.value,
                    "amount": str(action.amount),
                    "price": str(action.price),
                    "post_only": action.post_only,
                }
            ),
            received_at=sh.now_ms(),
        )
        sh.resolver.fire(rec.client_id, OrderEvent.SEND, sh.clock())
        sh.stats.placed += 1
        params: dict[str, Any] = {"clientOrderId": rec.client_id}
        if action.post_only:
            params["postOnly"] = True
        if action.role is Role.CLOSE and closes_reduce_only(sh.grid, sh.ledger, action.side, action.amount):
            # Every closing order on a perpetual, the grid's and a risk exit's (engine/exits.py),
            # is reduce-only when it reduces the net position (engine/perp.py): it may only
            # shrink the position, never flip it, whatever fills meanwhile.
            params["reduceOnly"] = True
        result = await sh.caller.once(
            f"create_order {rec.client_id}",
            lambda: sh.ex.create_order(
                sh.symbol, "limit", action.side.value, str(action.amount), str(action.price), params
            ),
        )
        if result.value is not None:
            self.ingest.order(result.value, "rest:create")
            sh.resolver.fire(rec.client_id, OrderEvent.CREATED, sh.clock())
            sh.resolver.level_accepted(action.level)
            sh.state = sh.state.on_accepted(action.level)
            return
        verdict = result.verdict
        assert result.error is not None
        if verdict is Verdict.POST_ONLY:
            sh.stats.post_only_rejects += 1
            self._refused(rec, result.error)
            sh.state = sh.state.on_post_only_reject(action.level)
            return
        if verdict is Verdict.REJECTED:
            sh.stats.rejected += 1
            self._refused(rec, result.error)
            # The same order would be refused again on the next tick: wait before retrying
            # this level, longer each time, so a persistent refusal does not hammer the venue.
            delay = sh.resolver.level_refused(action.level, sh.clock())
            log_event(
                log,
                logging.WARNING,
                "order refused: level waits",
                level=action.level,
                seconds=delay,
                error=type(result.error).__name__,
                message=redact(str(result.error))[:200],
            )
            if isinstance(result.error, ccxt.InsufficientFunds):
                self.request_reconcile("query")  # balances disagree with the ledger: check drift
        elif verdict is Verdict.FATAL:
            raise EngineFatal(f"create_order refused: {redact(str(result.error))}")
        else:
            # Timeout, network error, duplicate id: the order may exist. Ask, by client id.
            sh.stats.unknown_creates += 1
            sh.resolver.fire(rec.client_id, OrderEvent.NO_CREATE_ANSWER, sh.clock())
            sh.ask()

    def _refused(self, rec: OrderRecord, error: BaseException) -> None:
        self.ingest.reject_order(rec, error)
        self.sh.resolver.fire(rec.client_id, OrderEvent.REFUSED, self.sh.clock())

    async def cancel(self, action: Cancel, force: bool = False) -> None:
        """Cancel one live order; a second cancel within cancel_debounce_s is skipped unless
        ``force``. No answer or "not found" makes it a query: it may have filled (R6)."""
        sh = self.sh
        rec = sh.ledger.order(action.client_id)
        if rec is None or not rec.live:
            return
        if not sh.resolver.may_cancel(rec.client_id, sh.clock(), force):
            return
        sh.resolver.fire(rec.client_id, OrderEvent.CANCEL, sh.clock())
        sh.stats.canceled += 1
        params = {} if rec.order_id else {"clientOrderId": rec.client_id}
        result = await sh.caller.retry(
            f"cancel_order {rec.client_id}",
            lambda: sh.ex.cancel_order(rec.order_id, sh.symbol, params),
        )
        if result.value is not None:
            self.ingest.order(result.value, "rest:cancel")
            sh.resolver.fire(rec.client_id, OrderEvent.CANCEL_ANSWERED, sh.clock())
        else:
            sh.resolver.fire(rec.client_id, OrderEvent.CANCEL_FAILED, sh.clock())
            sh.ask()

    async def cancel_all_at_exit(self, query: Callable[[OrderRecord], Awaitable[None]]) -> list[str]:
        """cancel_on_exit: cancel every live order and check each one ended (R6: only
        evidence says it did). Returns the client ids still live afterwards, for the caller
        to report: with the exchange down, those orders may still trade."""
        sh = self.sh
        retries = sh.caller.retries
        try:
            for rec in list(sh.ledger.live_orders()):
                await self.cancel(Cancel(rec.level, rec.client_id, "shutdown"), force=True)
                now = sh.ledger.order(rec.client_id)
                if now is not None and now.live:
                    await query(now)  # not found or no answer: it may have filled meanwhile
                    after = sh.ledger.order(rec.client_id)
                    if after is not None and after.live:
                        # No answer even after retries: the exchange is unreachable. One try
                        # each for the rest, so stopping does not take minutes.
                        sh.caller.retries = 0
        finally:
            sh.caller.retries = retries
        left: list[str] = sorted(r.client_id for r in sh.ledger.live_orders())
        if left:
            log_event(
                log,
                logging.ERROR,
                "orders may still be live on the exchange after shutdown",
                count=len(left),
                client_ids=",".join(left),
            )
        return left
