"""Sending orders: rate limit, retries, and what an error from the exchange proves.

The classification below is the engine's contract with R6: only an answer that proves an
order was not created (a rejection) becomes evidence of REJECTED; a timeout, a network error
or an exchange 5xx leaves the order UNKNOWN, to be resolved by querying it by client id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import ccxt

from gridledger.logs import log_event, redact

log = logging.getLogger("gridledger.engine")
T = TypeVar("T")


class Verdict(str, Enum):
    REJECTED = "rejected"  # the exchange refused: the order does not exist
    POST_ONLY = "post_only"  # refused because it would have taken liquidity
    DUPLICATE = "duplicate"  # an order with this client id exists: fetch it
    NOT_FOUND = "not_found"  # the exchange does not know this order (now)
    UNKNOWN = "unknown"  # no answer: the order may or may not exist
    FATAL = "fatal"  # authentication, permissions, bad symbol: stop and tell the user


def classify(exc: BaseException) -> Verdict:
    # Order matters: several of these subclass InvalidOrder.
    if isinstance(exc, ccxt.OrderImmediatelyFillable):
        return Verdict.POST_ONLY
    if isinstance(exc, ccxt.DuplicateOrderId):
        return Verdict.DUPLICATE
    if isinstance(exc, ccxt.InvalidOrder) and "duplicate" in str(exc).lower():
        # ccxt 4.5.90 maps Binance's -2010 "Duplicate order sent." to a plain InvalidOrder:
        # the order exists, so it must be fetched, never marked rejected.
        return Verdict.DUPLICATE
    if isinstance(exc, ccxt.OrderNotFound):
        return Verdict.NOT_FOUND
    if isinstance(exc, (ccxt.AuthenticationError, ccxt.BadSymbol, ccxt.NotSupported)):
        return Verdict.FATAL
    if isinstance(exc, (ccxt.InsufficientFunds, ccxt.InvalidOrder)):
        return Verdict.REJECTED
    return Verdict.UNKNOWN


class RateLimiter:
    """At most ``rate`` requests per second on the event loop's clock (virtual in paper mode)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._next > now:
            delay = self._next - now
            self._next += self.interval
            await asyncio.sleep(delay)
        else:
            self._next = now + self.interval


# Request weight of each call, as Binance spot counts it (REQUEST_WEIGHT, per minute per IP):
# GET /api/v3/account 20, GET /api/v3/openOrders with a symbol 6, GET /api/v3/myTrades 20,
# GET /api/v3/order 4, POST/DELETE /api/v3/order 1, GET /api/v3/ticker/24hr with a symbol 2.
# Other venues limit per endpoint; these weights are used for them too, as a conservative
# common measure. A call not listed weighs 1.
CALL_WEIGHTS: dict[str, int] = {
    "fetch_balance": 20,
    "fetch_open_orders": 6,
    "fetch_my_trades": 20,
    "fetch_order": 4,
    "fetch_positions": 5,
    "fetch_funding_history": 30,  # USDⓈ-M GET /fapi/v1/income (engine/funding.py)
    "fetch_ticker": 2,
    "create_order": 1,
    "cancel_order": 1,
}
WINDOW_S = 60.0


def call_weight(what: str) -> int:
    """The weight of a call named as the engine names it ("fetch_order <client id>")."""
    return CALL_WEIGHTS.get(what.split(" ", 1)[0], 1)


class WeightBudget:
    """At most ``per_minute`` request weight in any 60 s window, on the loop's clock.

    ccxt's ``rateLimit`` spaces requests but does not know their weight: a burst of heavy
    account queries can use a venue's whole minute of weight in seconds and get the key
    rate-limited (HTTP 429) or banned (418). A call that would overflow the window waits
    until enough of the window's weight has aged out.
    """

    def __init__(self, per_minute: int) -> None:
        if per_minute < 1:
            raise ValueError(f"request_weight_per_min must be >= 1, got {per_minute}")
        self.per_minute = per_minute
        self._spent: deque[tuple[float, int]] = deque()  # (when, weight), oldest first
        self._used = 0
        self.waits = 0
        self.waited_s = 0.0

    def used(self, now: float) -> int:
        """Weight spent in the window ending at ``now``."""
        # Strictly older than the window: a request exactly one window ago still counts.
        while self._spent and self._spent[0][0] + WINDOW_S < now:
            self._used -= self._spent.popleft()[1]
        return self._used

    def spent_since(self, since: float) -> int:
        """Weight spent after ``since``; read-only, so a metrics thread may call it."""
        return sum(w for when, w in list(self._spent) if when > since)

    def delay(self, weight: int, now: float) -> float:
        """Seconds to wait before spending ``weight`` at ``now`` (0: it fits now)."""
        weight = min(weight, self.per_minute)  # a call heavier than the budget still runs, alone
        excess = self.used(now) + weight - self.per_minute
        if excess <= 0:
            return 0.0
        freed = 0
        for when, w in self._spent:
            freed += w
            if freed >= excess:
                # Never 0 here: the entry ages out only strictly after the window.
                return max(1e-3, when + WINDOW_S - now + 1e-3)
        return WINDOW_S  # unreachable: the window holds at least the excess

    def spend(self, weight: int, now: float) -> None:
        self._spent.append((now, weight))
        self._used += weight

    async def acquire(self, weight: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            delay = self.delay(weight, loop.time())
            if delay <= 0:
                break
            self.waits += 1
            self.waited_s += delay
            log_event(
                log,
                logging.INFO,
                "request weight budget: waiting",
                seconds=round(delay, 3),
                weight=weight,
                used=self._used,
                per_minute=self.per_minute,
            )
            await asyncio.sleep(delay)
        self.spend(weight, loop.time())


@dataclass(slots=True)
class CallResult:
    value: Any = None
    error: BaseException | None = None
    verdict: Verdict | None = None


class Caller:
    """Runs exchange calls under the rate limit and the request weight budget, with a timeout
    and bounded retries.

    ``retry`` is for idempotent calls (queries, cancels); ``create_order`` is never retried
    blindly: its failure is classified and resolved by a query.
    """

    def __init__(
        self,
        rate_per_s: float,
        timeout_s: float,
        retries: int,
        weight_per_min: int = 6000,
        *,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.limiter = RateLimiter(rate_per_s)
        self.budget = WeightBudget(weight_per_min)
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s  # the wait before the first retry, doubling up to backoff_max_s
        self.backoff_max_s = backoff_max_s
        self.calls = 0
        self.errors = 0

    async def once(self, what: str, fn: Callable[[], Awaitable[T]]) -> CallResult:
        await self.limiter.wait()
        await self.budget.acquire(call_weight(what))
        self.calls += 1
        try:
            value = await asyncio.wait_for(fn(), self.timeout_s)
        except TimeoutError:
            self.errors += 1
            log_event(log, logging.WARNING, "exchange call timed out", call=what)
            return CallResult(error=ccxt.RequestTimeout(f"{what} timed out"), verdict=Verdict.UNKNOWN)
        except ccxt.BaseError as exc:
            self.errors += 1
            verdict = classify(exc)
            log_event(
                log,
                logging.INFO if verdict is not Verdict.UNKNOWN else logging.WARNING,
                "exchange call failed",
                call=what,
                error=type(exc).__name__,
                verdict=verdict.value,
                message=redact(str(exc))[:300],
            )
            return CallResult(error=exc, verdict=verdict)
        return CallResult(value=value)

    async def retry(self, what: str, fn: Callable[[], Awaitable[T]]) -> CallResult:
        delay = self.backoff_s
        result = await self.once(what, fn)
        for _ in range(self.retries):
            if result.verdict is not Verdict.UNKNOWN:
                return result
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max_s)
            result = await self.once(what, fn)
        return result
