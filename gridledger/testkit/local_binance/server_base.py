""":class:`LocalServerBase`: what the spot and the USDⓈ-M local Binance servers share.

Both wrap one simulated venue behind an aiohttp app on the caller's event loop, with the same
lifecycle (start, stop, a demo price feed), addresses, fault counters, price prints, frame
flushing, hand-injected raw frames and the "wait until a client subscribed" waiters. A
subclass adds its routes (:meth:`_add_routes`), names its user-stream peers
(:meth:`_user_peers`), and may run more background tasks (:meth:`_extra_tasks`) and report
more counters (:meth:`_extra_counters`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterable
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from gridledger.exchange.sim.faults import FaultCounters
from gridledger.exchange.sim.prices import Tick
from gridledger.testkit.local_binance.config import InjectionCounters
from gridledger.testkit.local_binance.klines import KlineHistory

_SHUTDOWN_TIMEOUT_S = 1.0


class LocalServerBase:
    """The shared shell of a local Binance server; see the module docstring."""

    # Set by the subclass (its own config and venue types).
    config: Any
    venue: Any
    # The default frame of :meth:`inject_malformed_json` (the subclass's protocol).
    malformed_json: str = ""
    # Task names, for debugging a stuck loop.
    feed_task_name: str = "local-binance-feed"

    def __init__(self) -> None:
        self.faults = FaultCounters()
        self.injected = InjectionCounters()
        # The candle history the klines endpoint serves (None: no history, an empty list).
        self.klines: KlineHistory | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    # --- hooks ---------------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _user_peers(self) -> list[Any]:
        raise NotImplementedError

    def _extra_tasks(self) -> Iterable[tuple[Coroutine[Any, Any, None], str]]:
        return ()

    def _extra_counters(self) -> dict[str, int]:
        return {}

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("server already started")
        app = web.Application()
        self._add_routes(app)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        if self.config.initial_price is not None:
            self.venue.apply_tick(Tick(self.venue.now_ms(), self.config.initial_price, self.config.tick_volume))
        loop = asyncio.get_running_loop()
        if self.config.path is not None:
            self._tasks.append(loop.create_task(self._feed(), name=self.feed_task_name))
        for coro, name in self._extra_tasks():
            self._tasks.append(loop.create_task(coro, name=name))

    async def stop(self) -> None:
        """Stop serving: pending late answers are released, connections closed."""
        if self._runner is None:
            return
        venue = self.venue
        venue.closing.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        venue.user.close()
        peers = self._user_peers() + venue.market.peers
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
        runner, self._runner = self._runner, None
        await runner.cleanup()
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(RuntimeError("server stopped"))
        self._waiters = []

    async def _feed(self) -> None:
        """Demo mode: play the configured path, one print every ``tick_interval_ms``."""
        assert self.config.path is not None
        for tick in self.config.path:
            await self.tick(tick)
            await asyncio.sleep(self.config.tick_interval_ms / 1000)

    # --- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def http_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}"

    # --- ground truth --------------------------------------------------------------------------

    def counters(self) -> dict[str, int]:
        """Everything injected so far: stream faults, late creates, hand-injected frames, and
        what the subclass adds (REST errors)."""
        out = self.faults.as_dict()
        out.update(self._extra_counters())
        out.update({f"injected_{k}": v for k, v in self.injected.as_dict().items()})
        return out

    # --- the price -----------------------------------------------------------------------------

    async def tick(self, tick: Tick) -> list[Any]:
        """Apply one print now; returns the fills. Resolves once the resulting frames (user
        events without latency, market-stream updates) have been written to the sockets."""
        trades: list[Any] = self.venue.apply_tick(tick)
        await self.flushed()
        return trades

    async def set_price(self, price: Decimal | str | int, volume: Decimal | None = None) -> list[Any]:
        """A print at ``price`` (volume ``tick_volume`` unless given), stamped now."""
        vol = volume if volume is not None else self.config.tick_volume
        return await self.tick(Tick(self.venue.now_ms(), Decimal(price), vol))

    async def flushed(self) -> None:
        """Wait until every frame queued so far has been written to its socket."""
        peers = self._user_peers() + self.venue.market.peers
        await asyncio.gather(*(p.flushed() for p in peers))

    def flush_user_stream(self) -> None:
        """Release a partly filled reorder window now (instead of after reorder_hold_ms)."""
        self.venue.user.flush()

    # --- faults --------------------------------------------------------------------------------

    def arm_create_delay(self, delay_ms: int, count: int = 1) -> None:
        """The next ``count`` creates are placed at once but answered ``delay_ms`` later."""
        self.venue.arm_create_delay(delay_ms, count)

    def inject_raw(self, text: str) -> int:
        """Send ``text`` as-is on every user-stream connection; returns how many."""
        self.injected.raw += 1
        count: int = self.venue.user.inject(lambda _sid: text)
        return count

    def inject_malformed_json(self, text: str | None = None) -> int:
        """A truncated JSON frame (starts like an event, cut mid-number); by default the
        server's ``malformed_json``."""
        frame = self.malformed_json if text is None else text
        self.injected.malformed_json += 1
        count: int = self.venue.user.inject(lambda _sid: frame)
        return count

    # --- waiting for clients -------------------------------------------------------------------

    async def wait_user_subscribers(self, n: int = 1, timeout: float = 5.0) -> None:
        """Until at least ``n`` connections are on the user data stream."""
        await self._wait(lambda: self.venue.user.subscriber_count >= n, timeout)

    async def wait_market_subscribers(self, stream: str, n: int = 1, timeout: float = 5.0) -> None:
        """Until at least ``n`` connections are subscribed to ``stream`` (``btcusdt@ticker``)."""
        await self._wait(lambda: self.venue.market.count(stream) >= n, timeout)

    async def _wait(self, predicate: Callable[[], bool], timeout: float) -> None:
        if predicate():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, fut))
        await asyncio.wait_for(fut, timeout)

    def _notify(self) -> None:
        keep = []
        for predicate, fut in self._waiters:
            if fut.done():
                continue
            if predicate():
                fut.set_result(None)
            else:
                keep.append((predicate, fut))
        self._waiters = keep


__all__ = ["LocalServerBase"]
