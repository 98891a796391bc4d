"""One engine scenario set-up for the engine tests: the ``world`` fixture.

A scenario runs on the simulated venue's virtual clock (``world.run(scenario())``), so
``asyncio.sleep`` inside it is virtual time, not a wall-clock wait. The world builds the venue
over a staircase price path, the engines over journals in the test's temporary folder, runs
and stops their loops, crashes them, and audits a ledger against the venue. Whatever happens
in the scenario, its end cancels the engine loops still running, closes every journal it
opened and closes the venue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from engine_helpers import BALANCES, START, engine, path, venue

from gridledger.config import Config
from gridledger.engine.runtime import GridEngine
from gridledger.exchange.sim.clock import run_virtual
from gridledger.exchange.sim.exchange import SimExchange
from gridledger.paper.audit import AuditResult, audit
from gridledger.store.journal import Journal

T = TypeVar("T")


class World:
    """The simulated venue, the engines trading on it and their journals, for one test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sim: SimExchange | None = None
        self.engines: list[GridEngine] = []
        self.journals: list[Journal] = []
        self._loops: dict[int, tuple[asyncio.Event, asyncio.Future[None]]] = {}

    # --- set-up ------------------------------------------------------------------------------

    def venue(self, *segments: tuple[int, str], **venue_kw: Any) -> SimExchange:
        """The venue over ``path(*segments)``, not started yet (to change it before trading)."""
        self.sim = venue(path(*segments), **venue_kw)
        return self.sim

    async def start(self, *segments: tuple[int, str], **venue_kw: Any) -> SimExchange:
        """The venue over ``path(*segments)``, started: its price feed runs."""
        sim = self.venue(*segments, **venue_kw)
        await sim.start()
        return sim

    def engine(self, cfg: Config | None = None, db: str = "j.db", **kw: Any) -> GridEngine:
        """An engine on the venue over the journal ``db`` in the test's folder."""
        assert self.sim is not None, "start the venue first"
        eng = engine(self.sim, self.folder / db, cfg, **kw)
        self.engines.append(eng)
        self.journals.append(eng.journal)
        return eng

    def journal(self, journal: Journal) -> Journal:
        """A journal the scenario opened itself, closed at the end like the engines' ones."""
        self.journals.append(journal)
        return journal

    def _current(self, eng: GridEngine | None) -> GridEngine:
        assert self.engines, "make an engine first"
        return eng if eng is not None else self.engines[-1]

    # --- running -----------------------------------------------------------------------------

    async def ready(self, eng: GridEngine | None = None) -> GridEngine:
        """Prepare the engine and mark it ready, without starting its loop."""
        eng = self._current(eng)
        await eng.prepare()
        eng.mark_ready()
        return eng

    async def run_for(self, seconds: float, eng: GridEngine | None = None) -> GridEngine:
        """Start the engine's loop (unless it runs already) and let ``seconds`` of virtual time pass."""
        eng = self._current(eng)
        if id(eng) not in self._loops:
            stop = asyncio.Event()
            self._loops[id(eng)] = (stop, asyncio.ensure_future(eng.run(stop)))
        await asyncio.sleep(seconds)
        return eng

    async def stop(self, eng: GridEngine | None = None) -> None:
        """Ask the engine's loop to stop and wait until it has (an orderly shutdown)."""
        stop, task = self._loops.pop(id(self._current(eng)))
        stop.set()
        await task

    async def crash(self, eng: GridEngine | None = None) -> None:
        """A crash: no shutdown, nothing pending committed; the venue drops the connection."""
        eng = self._current(eng)
        _, task = self._loops.pop(id(eng))
        eng.kill()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        eng.journal.abandon()
        assert self.sim is not None
        self.sim.stream.disconnect()

    def audit(self, eng: GridEngine | None = None) -> AuditResult:
        """The engine's ledger against the venue's ground truth."""
        assert self.sim is not None
        return audit(self._current(eng).ledger, self.sim.core, BALANCES)

    def run(self, scenario: Coroutine[Any, Any, T]) -> T:
        """Run the scenario on the virtual clock; its end always tears the world down."""
        return run_virtual(self._guarded(scenario), start_ms=START)

    # --- teardown ----------------------------------------------------------------------------

    async def _guarded(self, scenario: Coroutine[Any, Any, T]) -> T:
        try:
            return await scenario
        finally:
            await self._teardown()

    async def _teardown(self) -> None:
        loops, self._loops = list(self._loops.values()), {}
        for _, task in loops:  # a scenario that failed half-way leaves its loops running
            task.cancel()
        await asyncio.gather(*(task for _, task in loops), return_exceptions=True)
        self.close_journals()
        sim, self.sim = self.sim, None
        if sim is not None:
            await sim.close()

    def close_journals(self) -> None:
        """Close every journal (closing a closed or abandoned one changes nothing)."""
        errors: list[BaseException] = []
        for journal in self.journals:
            try:
                journal.close()
            except Exception as exc:  # close the others first, then report the first failure
                errors.append(exc)
        self.journals = []
        if errors:
            raise errors[0]


@pytest.fixture
def world(tmp_path: Path) -> Any:
    w = World(tmp_path)
    yield w
    w.close_journals()  # a scenario that never reached world.run's teardown
