"""A local HTTP recorder for notification tests: an aiohttp server on 127.0.0.1 that records
every POST body, in its own thread with its own event loop (the code under test may run on
a virtual clock, which must not serve or time this server).

``mode``: "ok" answers 200, "error" answers 500, "hang" never answers until the recorder
closes (a notification endpoint that is down in the worst way).
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from aiohttp import web


class Recorder:
    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.posts: list[dict[str, Any]] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._release: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._serve, name="notify-recorder", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def apprise_url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def __enter__(self) -> Recorder:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the recorder did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.posts)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        # The port the OS chose: read from the runner's bound addresses (public API).
        self.port = int(self._runner.addresses[0][1])

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        with self._lock:
            self.requests += 1
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"raw": raw.decode("utf-8", "replace")}
            body["_path"] = request.path
            self.posts.append(body)
        if self.mode == "hang":
            assert self._release is not None
            await self._release.wait()
        if self.mode == "error":
            return web.Response(status=500, text="recorder: error mode")
        return web.Response(status=200, text="ok")

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def stop() -> None:
            if self._release is not None:
                self._release.set()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
