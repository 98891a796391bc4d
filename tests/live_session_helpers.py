"""The engine session the end-to-end live tests share: a GridEngine on a ccxt client pointed
at a local Binance server (spot or USDⓈ-M), with its journal, started, stopped or crashed
the same way. Each test file builds the client its own way and may add a preflight."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gridledger.engine.runtime import GridEngine
from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal
from gridledger.testkit.local_binance.testing import until

WAIT = 20.0


class EngineSession:
    """An engine on ``ex`` with its journal at ``db``."""

    def __init__(self, ex: Any, db: Path, config: Any) -> None:
        self.ex = ex
        self.journal = Journal.open(db, Ledger(config.grid.spec()), synchronous="NORMAL")
        self.engine = GridEngine(self.ex, self.journal, config, now_ms=self.ex.milliseconds)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None

    @property
    def ledger(self) -> Ledger:
        return self.journal.ledger

    async def run_engine(self) -> None:
        """Run the engine until it is ready (or its run ended: the caller checks)."""
        self.task = asyncio.ensure_future(self.engine.run(self.stop))
        await until(lambda: self.engine.ready or (self.task is not None and self.task.done()), WAIT, "engine start")

    async def stop_engine(self) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task

    async def finish(self) -> None:
        """A clean stop: the engine ends, a final reconcile, the client closed."""
        await self.stop_engine()
        await self.engine.reconcile("final")
        await self.ex.close()

    async def crash(self) -> None:
        """As a killed process: no clean stop, the journal abandoned unclosed."""
        self.engine.kill()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        self.journal.abandon()
        await self.ex.close()

    def live(self) -> int:
        """Live orders the exchange has acknowledged (an order in flight is live but has no id)."""
        return sum(1 for r in self.ledger.live_orders() if r.order_id is not None)


__all__ = ["WAIT", "EngineSession"]
