from __future__ import annotations

import asyncio
import time

import pytest

from gridledger.exchange.sim.clock import VirtualTimeLoop, now_ms, run_virtual


def test_a_day_of_sleep_takes_no_wall_time() -> None:
    async def main() -> tuple[float, int]:
        await asyncio.sleep(24 * 3600)
        return asyncio.get_running_loop().time(), now_ms()

    started = time.monotonic()
    loop_time, ms = run_virtual(main(), start_ms=1_700_000_000_000)
    assert time.monotonic() - started < 5
    assert loop_time == pytest.approx(86_400.0)
    assert ms == 1_700_000_000_000 + 86_400_000


def test_timers_fire_in_order_at_their_virtual_times() -> None:
    fired: list[tuple[str, int]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        fired.append((name, now_ms()))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(2.5, lambda: fired.append(("call_later", now_ms())))
        await asyncio.gather(sleeper("c", 3.0), sleeper("a", 1.0), sleeper("b", 2.0), sleeper("d", 3600))

    run_virtual(main(), start_ms=0)
    assert fired == [("a", 1000), ("b", 2000), ("call_later", 2500), ("c", 3000), ("d", 3_600_000)]


def test_periodic_task_ticks_on_the_virtual_clock() -> None:
    async def main() -> list[int]:
        stamps: list[int] = []

        async def every_minute() -> None:
            while True:
                stamps.append(now_ms())
                await asyncio.sleep(60)

        task = asyncio.create_task(every_minute())
        await asyncio.sleep(600.5)
        task.cancel()
        return stamps

    assert run_virtual(main(), start_ms=0) == [60_000 * i for i in range(11)]


def test_many_small_sleeps_land_on_whole_milliseconds() -> None:
    async def main() -> int:
        for _ in range(1000):
            await asyncio.sleep(0.001)
        return now_ms()

    assert run_virtual(main(), start_ms=5) == 1005


def test_wait_for_times_out_in_virtual_time() -> None:
    async def main() -> int:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=30)
        return now_ms()

    started = time.monotonic()
    assert run_virtual(main(), start_ms=0) == 30_000
    assert time.monotonic() - started < 5


def test_deadlock_raises_instead_of_hanging() -> None:
    async def main() -> None:
        await asyncio.Event().wait()

    with pytest.raises(RuntimeError, match="virtual-time loop deadlocked"):
        run_virtual(main())


def test_executor_work_is_awaited_without_advancing_virtual_time() -> None:
    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        sleeper = asyncio.create_task(asyncio.sleep(100))
        value = await loop.run_in_executor(None, lambda: 42)
        at = now_ms()
        await sleeper
        return value, at

    value, at = run_virtual(main())
    assert value == 42
    assert at < 100_000


def test_now_ms_outside_a_virtual_loop_is_an_error() -> None:
    async def main() -> int:
        return now_ms()

    with pytest.raises(RuntimeError, match="VirtualTimeLoop"):
        asyncio.run(main())


def test_loop_is_a_selector_event_loop() -> None:
    loop = VirtualTimeLoop(start_ms=7)
    try:
        assert isinstance(loop, asyncio.SelectorEventLoop)
        assert loop.time() == 0.0
        assert loop.now_ms() == 7
    finally:
        loop.close()


def test_same_program_same_interleaving() -> None:
    async def main() -> list[str]:
        out: list[str] = []

        async def worker(name: str, period: float) -> None:
            for _ in range(5):
                await asyncio.sleep(period)
                out.append(f"{name}@{now_ms()}")

        await asyncio.gather(worker("x", 0.3), worker("y", 0.7), worker("z", 0.5))
        return out

    assert run_virtual(main()) == run_virtual(main())


def test_waits_too_short_to_move_the_clock_fail_instead_of_spinning():
    import pytest

    from gridledger.exchange.sim.clock import VirtualTimeLoop

    loop = VirtualTimeLoop()
    try:
        loop._advance(100_000.0)
        # 1e-13 s is below the float resolution at 1e5 s: the clock cannot move. Code that
        # keeps re-arming such a wait (a due-time compared without tolerance) must not hang.
        with pytest.raises(RuntimeError, match="livelock"):
            for _ in range(200_000):
                loop._advance(1e-13)
        loop._advance(1.0)  # a real wait moves the clock and resets the guard
        assert loop.time() > 100_000.0
    finally:
        loop.close()
