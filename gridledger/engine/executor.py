"""Sending orders: rate limit, retries, and what an error from the exchange proves.

The classification below is the engine's contract with R6: only an answer that proves an
order was not created (a rejection) becomes evidence of REJECTED; a timeout, a network error
or an exchange 5xx leaves the order UNKNOWN, to be resolved by querying it by client id.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any, Awaitable, Callable, TypeVar

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


@dataclass(slots=True)
class CallResult:
    value: Any = None
    error: BaseException | None = None
    verdict: Verdict | None = None


class Caller:
    """Runs exchange calls under the rate limit, with a timeout and bounded retries.

    ``retry`` is for idempotent calls (queries, cancels); ``create_order`` is never retried
    blindly: its failure is classified and resolved by a query.
    """

    def __init__(self, rate_per_s: float, timeout_s: float, retries: int) -> None:
        self.limiter = RateLimiter(rate_per_s)
        self.timeout_s = timeout_s
        self.retries = retries
        self.calls = 0
        self.errors = 0

    async def once(self, what: str, fn: Callable[[], Awaitable[T]]) -> CallResult:
        await self.limiter.wait()
        self.calls += 1
        try:
            value = await asyncio.wait_for(fn(), self.timeout_s)
        except asyncio.TimeoutError:
            self.errors += 1
            log_event(log, logging.WARNING, "exchange call timed out", call=what)
            return CallResult(error=ccxt.RequestTimeout(f"{what} timed out"), verdict=Verdict.UNKNOWN)
        except ccxt.BaseError as exc:
            self.errors += 1
            verdict = classify(exc)
            log_event(log, logging.INFO if verdict is not Verdict.UNKNOWN else logging.WARNING,
                      "exchange call failed", call=what, error=type(exc).__name__,
                      verdict=verdict.value, message=redact(str(exc))[:300])
            return CallResult(error=exc, verdict=verdict)
        return CallResult(value=value)

    async def retry(self, what: str, fn: Callable[[], Awaitable[T]]) -> CallResult:
        delay = 0.5
        result = await self.once(what, fn)
        for _ in range(self.retries):
            if result.verdict is not Verdict.UNKNOWN:
                return result
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            result = await self.once(what, fn)
        return result
