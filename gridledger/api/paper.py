"""``gridledger paper --serve``: the API and dashboard on a paper session in paced time."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

from gridledger.api.server import ApiServer
from gridledger.config import ApiConfig
from gridledger.engine.runtime import GridEngine


class PaperServe:
    """A :class:`gridledger.paper.session.SessionWatcher` serving the session's engine."""

    def __init__(
        self, api: ApiConfig, token: str | None, *, speed: float, on_ready: Callable[[str], None] | None = None
    ) -> None:
        self.api = api
        self.token = token
        self.speed = speed
        self.on_ready = on_ready
        self.server: ApiServer | None = None

    async def start(self, stop: Callable[[], None]) -> None:
        # One chart point per real second, whatever the speed (the sampler sleeps loop time).
        self.server = ApiServer(
            self.api,
            self.token,
            on_stop=stop,
            sample_every_s=self.speed,
            extra_status=lambda: {"mode": "paper", "speed": self.speed},
        )
        await self.server.start()
        loop = asyncio.get_running_loop()
        # Ctrl-C ends the session cleanly (closing reconciliation, audit, report), as the
        # stop endpoint does, instead of interrupting it.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, stop)
            loop.add_signal_handler(signal.SIGTERM, stop)
        if self.on_ready is not None:
            self.on_ready(self.server.url)

    def attach(self, engine: GridEngine) -> None:
        if self.server is not None:
            self.server.attach(engine)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        if self.server is not None:
            await self.server.stop()
