"""The state every route shares: the one SimCore, its clock, and where its events go.

Time: the venue runs on the wall clock, because ccxt signs requests with its own wall
clock and Binance checks them against the server's (``recvWindow``). Orders are stamped
with the wall clock; a print is applied at ``max(tick.ts_ms, core clock, wall clock)``, so
ticks with arbitrary (even zero) timestamps can be fed and a tick from the future moves the
venue's clock forward.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

from gridledger.exchange.sim.faults import FaultCounters
from gridledger.exchange.sim.matching import SimCore
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimTrade
from gridledger.testkit.local_binance.auth import Credentials
from gridledger.testkit.local_binance.config import LocalBinanceConfig
from gridledger.testkit.local_binance.create_delay import CreateDelays
from gridledger.testkit.local_binance.market import MarketHub
from gridledger.testkit.local_binance.peer import WsPeer
from gridledger.testkit.local_binance.userstream import UserStream


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Venue:
    """SimCore + clock + user stream + market streams, wired together."""

    def __init__(
        self,
        config: LocalBinanceConfig,
        counters: FaultCounters,
        on_change: Callable[[], None],
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.config = config
        self.spec = config.spec
        self.creds = Credentials(config.api_key, config.secret)
        self.counters = counters
        self.clock = clock
        self.core = SimCore(
            config.spec,
            config.balances,
            clock(),
            seed=config.seed,
            duplicate_scope=config.duplicate_scope,
        )
        self.user = UserStream(
            config.stream_faults,
            counters,
            config.stream_latency_ms,
            on_change,
            abort_on_disconnect=config.disconnect_mode == "abort",
        )
        self.market = MarketHub(on_change)
        self.ws_api_peers: set[WsPeer] = set()
        self.closing = asyncio.Event()
        self._dispatched = 0
        self._delays = CreateDelays(config, self.closing)

    def now_ms(self) -> int:
        return self.clock()

    def dispatch(self) -> None:
        """Hand the core's new events to the user stream (after every change)."""
        events = self.core.events
        if self._dispatched == len(events):
            return
        fresh = events[self._dispatched :]
        self._dispatched = len(events)
        self.user.publish([e.payload for e in fresh])

    def apply_tick(self, tick: Tick) -> list[SimTrade]:
        """One public print: fills, their events, and a ticker update."""
        ts = max(tick.ts_ms, self.core.now_ms, self.now_ms())
        if ts != tick.ts_ms:
            tick = replace(tick, ts_ms=ts)
        try:
            trades = self.core.on_tick(tick)
        finally:
            self.dispatch()
        self.market.publish(self.core.ticker_stats())
        return trades

    # --- REST fault: create answered late ------------------------------------------------------

    def arm_create_delay(self, delay_ms: int, count: int = 1) -> None:
        self._delays.arm(delay_ms, count)

    def next_create_delay_ms(self) -> int:
        """How long to hold the answer of the create being served (0: answer at once)."""
        return self._delays.next_ms()

    async def hold(self, delay_ms: int) -> None:
        """Wait ``delay_ms`` unless the server is shutting down."""
        await self._delays.hold(delay_ms)
