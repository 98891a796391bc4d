"""The venue's streams: subscribe, back off on disconnects, re-watch an idle stream.

ccxt does not replay what a dropped stream missed, so every disconnect and every idle
timeout asks for a REST reconciliation; the order and trade updates themselves go to
ingest, prices only update the last price and wake the decision loop. An expired or
unknown listen key is a disconnect too, not an authentication failure (engine/stream_errors.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import ccxt

from gridledger.domain.numbers import InputError, opt_decimal
from gridledger.engine import events, stream_errors
from gridledger.engine.shared import EngineFatal, Shared
from gridledger.engine.stream_errors import StreamFault, mask_listen_keys
from gridledger.ledger.outcomes import Outcome
from gridledger.logs import log_event, redact

log = logging.getLogger("gridledger.engine")

Handler = Callable[[dict[str, Any], str], list[Outcome]]


class Streams:
    def __init__(
        self,
        shared: Shared,
        *,
        seed: int,
        request_reconcile: Callable[[str], None],
        on_tick: Callable[[Decimal, int], None] | None = None,
    ) -> None:
        self.sh = shared
        self.rng = random.Random(seed)
        self.request_reconcile = request_reconcile
        self.on_tick = on_tick

    def backoff_s(self, attempt: int) -> float:
        """The wait before reconnect ``attempt`` (0-based): stream_backoff_s doubling to
        stream_backoff_max_s, with jitter (x0.5-1.5) so many engines do not reconnect at once."""
        eng = self.sh.eng
        delay = min(eng.stream_backoff_max_s, eng.stream_backoff_s * 2 ** min(attempt, 30))
        return delay * (0.5 + self.rng.random())

    async def watch(self, name: str, watch: Callable[[], Awaitable[list[dict[str, Any]]]], handle: Handler) -> None:
        attempt = 0
        idle = self.sh.eng.stream_idle_s
        while not self.sh.stopping:
            try:
                updates = await asyncio.wait_for(watch(), idle)
            except TimeoutError:
                # A quiet stream, or a dead one: a venue can end a subscription without waking
                # the pending watch (Binance eventStreamTerminated), and a socket can stall.
                # Watching again resubscribes if needed; reconcile in case something was missed.
                self.request_reconcile("idle")
                continue
            except (ccxt.NetworkError, ccxt.ExchangeError, ConnectionError) as exc:
                # ConnectionError: ccxt's keep-alive ping can fail on a socket the venue is
                # closing (aiohttp's ClientConnectionResetError) and rejects the watch with
                # that raw error, not a ccxt one: a disconnect all the same.
                fault = stream_errors.classify(exc)
                if fault is StreamFault.FATAL:
                    raise EngineFatal(f"{name} stream: {mask_listen_keys(redact(str(exc)))}") from exc
                if fault is StreamFault.LISTEN_KEY:
                    # Expired or unknown listen key (Binance -1125, which ccxt raises as an
                    # AuthenticationError): not bad credentials. Forget it so the next watch
                    # takes a new one; the reconcile below finds what the dead stream missed.
                    stream_errors.forget_listen_key(self.sh.ex, exc)
                    self.sh.stats.listen_key_expiries += 1
                self.sh.stats.reconnects += 1
                log_event(
                    log,
                    logging.WARNING,
                    "stream disconnected",
                    stream=name,
                    error=type(exc).__name__,
                    reason=fault.value,
                    message=mask_listen_keys(redact(str(exc)))[:200],
                    attempt=attempt,
                )
                self.sh.events.publish(
                    events.RECONNECT,
                    self.sh.now_ms(),
                    stream=name,
                    attempt=attempt,
                    error=type(exc).__name__,
                    reason=fault.value,
                )
                # ccxt does not replay what was missed: reconcile by REST after reconnecting.
                self.request_reconcile("reconnect")
                await asyncio.sleep(self.backoff_s(attempt))
                attempt += 1
                continue
            attempt = 0
            for update in updates:
                handle(update, f"ws:{name}")

    async def orders(self, handle: Handler) -> None:
        # All symbols, not only ours: ccxt would silently drop another market's updates, and
        # the ledger should see (and reject, with a log line) whatever the account stream says.
        await self.watch("orders", lambda: self.sh.ex.watch_orders(), handle)

    async def trades(self, handle: Handler) -> None:
        await self.watch("trades", lambda: self.sh.ex.watch_my_trades(), handle)

    async def ticker(self) -> None:
        """Only records prices: a decision in progress must not make it miss an update."""
        sh = self.sh
        attempt = 0
        while not sh.stopping:
            try:
                ticker = await sh.ex.watch_ticker(sh.symbol)
            except ccxt.NetworkError as exc:
                log_event(
                    log,
                    logging.WARNING,
                    "ticker stream disconnected",
                    error=type(exc).__name__,
                    message=redact(str(exc))[:200],
                    attempt=attempt,
                )
                self.sh.events.publish(
                    events.RECONNECT, sh.now_ms(), stream="ticker", attempt=attempt, error=type(exc).__name__
                )
                await asyncio.sleep(self.backoff_s(attempt))
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
            sh.stats.ticks += 1
            if self.on_tick is not None:
                self.on_tick(price, sh.now_ms())
            sh.last_price = price
            sh.decide.set()
