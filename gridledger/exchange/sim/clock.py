"""Virtual time for asyncio: a simulated day runs in seconds, deterministically.

:class:`VirtualTimeLoop` is an ordinary selector event loop whose clock only moves when the
loop has nothing else to do. Whenever it would block in ``select(timeout)`` waiting for the
next timer, it polls the real selector without blocking; if no I/O is ready it advances the
virtual clock by ``timeout`` instead of sleeping, so the timer is due on the next iteration.
``asyncio.sleep``, ``asyncio.wait_for`` timeouts, ``loop.call_later`` and periodic tasks all
run on this clock, and runs are reproducible because the interleaving depends only on timer
order, never on how fast the machine is.

Caveats (inherent to virtual time):

- Work in other threads is invisible to the clock. ``run_in_executor`` (and therefore
  ``getaddrinfo``) is tracked: while executor jobs are in flight the loop waits for them in
  real time and does not advance the virtual clock. Other threads talking to the loop (e.g.
  ``call_soon_threadsafe`` from a thread the loop did not start) are not tracked.
- Sockets whose peer is outside this loop (another process) are polled, not awaited: if the
  loop has a timer pending, it will jump to it rather than wait for the peer. Sockets whose
  both ends live in this loop (a local server and its client) work, because a loopback write
  is readable at once.
"""

from __future__ import annotations

import asyncio
import selectors
import time as _time
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Executor
from typing import Any, TypeVar, TypeVarTuple, Unpack

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# A real-time cap on each blocking wait for executor threads, so Ctrl-C stays responsive.
_REAL_WAIT_SLICE_S = 0.05


class _VirtualSelector(selectors.BaseSelector):
    """Delegates to a real selector but turns blocking waits into virtual-clock jumps."""

    def __init__(self, inner: selectors.BaseSelector) -> None:
        self._inner = inner
        self._loop: VirtualTimeLoop | None = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._inner.select(0)
        if ready or timeout == 0:
            return ready
        loop = self._loop
        assert loop is not None, "selector used before its loop was attached"
        if loop.pacing:
            # Paced: a real wait, scaled (the clock follows the wall clock, see VirtualTimeLoop).
            return self._inner.select(None if timeout is None else timeout / (loop.speed or 1.0))
        if loop._real_waits > 0:
            # A thread will wake the loop through its self-pipe; wait for it in real time and
            # keep the virtual clock still so the thread's result lands at a reproducible time.
            return self._inner.select(_REAL_WAIT_SLICE_S)
        if timeout is None:
            raise RuntimeError(
                "virtual-time loop deadlocked: no timer is scheduled, no callback is ready and "
                "no I/O is ready, so every task waits for something that can never happen "
                f"(virtual time {loop.time():.3f} s; {_describe_tasks(loop)})"
            )
        loop._advance(timeout)
        return []


_MAX_STUCK_WAITS = 100_000


def _describe_tasks(loop: asyncio.AbstractEventLoop) -> str:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not tasks:
        return "no pending tasks"
    names = ", ".join(sorted(t.get_name() + ":" + _coro_name(t) for t in tasks)[:10])
    return f"{len(tasks)} pending task(s): {names}"


def _coro_name(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    return getattr(coro, "__qualname__", type(coro).__name__)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop on a virtual clock that starts at 0 seconds.

    ``start_ms`` is the epoch-milliseconds timestamp that virtual time 0 stands for; it is
    only used by :func:`now_ms`.
    """

    def __init__(self, start_ms: int = 0, speed: float | None = None) -> None:
        selector = _VirtualSelector(selectors.DefaultSelector())
        self._now = 0.0
        # Paced mode (``gridledger paper --serve --speed N``): the clock is the wall clock
        # times ``speed`` from the loop's creation, so a person can watch; waits are real.
        # Not reproducible, and never used by a normal paper run.
        # Pacing begins with begin_pacing(), once the session has set up at virtual speed.
        self.speed = speed
        self.pacing = False
        self._real0 = 0.0
        self._stuck = 0
        self._real_waits = 0
        self.start_ms = int(start_ms)
        super().__init__(selector)
        selector._loop = self

    def time(self) -> float:
        if self.pacing:
            return self._now + (_time.monotonic() - self._real0) * (self.speed or 1.0)
        return self._now

    def begin_pacing(self) -> None:
        """From now on the clock follows the wall clock times ``speed`` (a no-op without one)."""
        if self.speed is None or self.pacing:
            return
        self._real0 = _time.monotonic()
        self.pacing = True

    def now_ms(self) -> int:
        # round, not int: sums of float delays land a hair below whole milliseconds.
        return self.start_ms + round(self.time() * 1000)

    def _advance(self, timeout: float) -> None:
        target = self._now + timeout
        scheduled = getattr(self, "_scheduled", None)
        if scheduled:
            when = scheduled[0].when()
            # Land exactly on the due timer: float error must not leave it a hair in the future.
            if self._now < when <= target + 1e-9:
                target = max(target, when)
        if target == self._now:
            # A wait shorter than the clock's float resolution does not move the clock; code
            # that keeps re-arming one would spin forever. Fail loudly instead of hanging.
            self._stuck += 1
            if self._stuck > _MAX_STUCK_WAITS:
                raise RuntimeError(
                    f"virtual-time loop livelock: {self._stuck} waits in a row did not move the clock "
                    f"(virtual time {self._now:.6f} s; {_describe_tasks(self)})"
                )
        else:
            self._stuck = 0
        self._now = target

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[Unpack[Ts]], T], *args: *Ts
    ) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self._real_waits += 1
        future.add_done_callback(self._real_wait_done)
        return future

    def _real_wait_done(self, _future: asyncio.Future[Any]) -> None:
        self._real_waits -= 1

    async def shutdown_default_executor(self, *args: Any) -> None:
        # The executor is joined from a helper thread that wakes the loop when it is done.
        self._real_waits += 1
        try:
            await super().shutdown_default_executor(*args)
        finally:
            self._real_waits -= 1


def run_virtual(coro: Coroutine[Any, Any, T], start_ms: int = 0, speed: float | None = None) -> T:
    """Run ``coro`` to completion on a fresh :class:`VirtualTimeLoop`; return its result.

    ``speed``: pace the clock at that many virtual seconds per real second (None: as fast
    as the work allows, the default and the only reproducible mode).

    Like ``asyncio.run``: leftover tasks are cancelled and async generators closed before the
    loop is closed.
    """
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start_ms, speed)) as runner:
        return runner.run(coro)


def now_ms() -> int:
    """Epoch milliseconds on the running :class:`VirtualTimeLoop`'s clock."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop, VirtualTimeLoop):
        raise RuntimeError("now_ms() needs a running VirtualTimeLoop (use run_virtual)")
    return loop.now_ms()
