"""The HTTP server inside the engine process: JSON reads, control, Server-Sent Events, the page.

It runs on the engine's own event loop (aiohttp), so every read sees the ledger between two
awaits, never half-updated, and needs no lock. It watches the engine through its event bus
(engine/events.py): publishing never blocks, so a slow browser cannot slow the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any

from aiohttp import web

from gridledger.api import views
from gridledger.api.auth import bearer_ok, is_loopback
from gridledger.api.openapi import document
from gridledger.config import ApiConfig
from gridledger.domain.numbers import fmt
from gridledger.engine import events
from gridledger.engine.events import EngineEvent, Subscription
from gridledger.engine.runtime import GridEngine
from gridledger.ledger.position_view import position_figures
from gridledger.logs import log_event

log = logging.getLogger("gridledger.api")

FILLS_KEPT = 1000  # fills kept in memory for /fills (the journal holds them all)
HISTORY_KEPT = 2000  # price/PnL samples kept for the chart
EVENTS_KEPT = 200  # recent non-fill events, for a page that opens late
LIMIT_MAX = 1000
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"{name}: not an integer (got {raw[:40]!r})"}), content_type="application/json"
        ) from None
    if not lo <= value <= hi:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"{name}: must be from {lo} to {hi} (got {value})"}),
            content_type="application/json",
        )
    return value


class ApiServer:
    """Serve one engine (``attach``; a paper session re-attaches after a restart)."""

    def __init__(
        self,
        api: ApiConfig,
        token: str | None,
        *,
        on_stop: Callable[[], None],
        sample_every_s: float = 1.0,
        extra_status: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        if api.port is None:
            raise ValueError("api.port is not set")  # (0, outside the config's range: any free port)
        self.api = api
        self.port: int = api.port
        self.token = token
        self.reads_need_token = not is_loopback(api.host)
        self.on_stop = on_stop
        self.sample_every_s = sample_every_s  # loop seconds (virtual and scaled in a paced paper session)
        self.extra_status = extra_status
        self.engine: GridEngine | None = None
        self.started_ms = 0
        self.fills: deque[dict[str, object]] = deque(maxlen=FILLS_KEPT)
        self.history: deque[dict[str, object]] = deque(maxlen=HISTORY_KEPT)
        self.recent: deque[dict[str, object]] = deque(maxlen=EVENTS_KEPT)
        self._feed: Subscription | None = None
        self._fill_seq = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._streams: set[Subscription] = set()
        self._runner: web.AppRunner | None = None
        self.app = self._build_app()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        host = self.api.host if ":" not in self.api.host else f"[{self.api.host.strip('[]')}]"
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Listen; an address in use raises OSError (the command prints one line, exit 2)."""
        runner = web.AppRunner(self.app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.api.host.strip("[]"), self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = runner.addresses
        if addresses and isinstance(addresses[0], tuple):
            self.port = int(addresses[0][1])  # port 0 (tests): the one the system chose
        self._tasks.append(asyncio.ensure_future(self._sampler()))

    async def stop(self) -> None:
        for sub in list(self._streams):
            sub.close()  # each event stream's handler returns, so cleanup does not wait on it
        self._detach()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def attach(self, engine: GridEngine) -> None:
        """Watch this engine: its fills go to the ring, its events to the page."""
        self._detach()
        for sub in list(self._streams):
            sub.close()  # browsers reconnect to the new engine's feed
        self.engine = engine
        if not self.started_ms:
            self.started_ms = engine.sh.now_ms()
        self._feed = engine.events.subscribe(10_000)
        self._tasks.append(asyncio.ensure_future(self._consume(self._feed)))

    def _detach(self) -> None:
        if self.engine is not None and self._feed is not None:
            self.engine.events.unsubscribe(self._feed)
        self._feed = None

    async def _consume(self, sub: Subscription) -> None:
        async for event in sub:
            doc = event.as_dict()
            if event.kind == events.FILL:
                self._fill_seq += 1
                doc["seq"] = self._fill_seq  # exact paging: fills can share a millisecond
                self.fills.append(doc)
            elif event.kind != events.STATUS:
                self.recent.append(doc)

    def sample(self) -> dict[str, object] | None:
        """One price/PnL point for the chart, also sent to the page as a STATUS event."""
        engine = self.engine
        if engine is None or engine.last_price is None:
            return None
        led = engine.ledger
        upnl = views.unrealized(engine, engine.last_price)
        point: dict[str, object] = {
            "ts_ms": engine.sh.now_ms(),
            "price": fmt(engine.last_price),
            "position": fmt(led.position),
            "realized_pnl": fmt(led.realized_pnl),
            "unrealized_pnl": fmt(upnl),
            "total_pnl": fmt(led.realized_pnl + upnl),
            "paused": engine.paused,
            "pause_reasons": ", ".join(engine.pause_reasons),
            "live_orders": len(led.live_orders()),
        }
        # Short and neutral grids: the signed net position and direction for the chart (issue 11).
        point.update(position_figures(engine.grid, led).fields(fmt))
        return point

    async def _sampler(self) -> None:
        while True:
            point = self.sample()
            if point is not None and self.engine is not None:
                self.history.append(point)
                data = {k: v for k, v in point.items() if k != "ts_ms"}
                self.engine.events.publish(events.STATUS, int(str(point["ts_ms"])), **data)  # type: ignore[arg-type]
            await asyncio.sleep(self.sample_every_s)

    # ------------------------------------------------------------------ the app
    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors, self._auth])
        r = app.router
        r.add_get("/", self.index)
        r.add_get("/static/{name}", self.static)
        r.add_get("/api/v1/openapi.json", self.openapi)
        r.add_get("/api/v1/status", self.status)
        r.add_get("/api/v1/levels", self.levels)
        r.add_get("/api/v1/orders", self.orders)
        r.add_get("/api/v1/fills", self.fills_page)
        r.add_get("/api/v1/history", self.history_page)
        r.add_get("/api/v1/counters", self.counters)
        r.add_get("/api/v1/events", self.event_stream)
        r.add_post("/api/v1/control/pause", self.pause)
        r.add_post("/api/v1/control/resume", self.resume)
        r.add_post("/api/v1/control/reconcile", self.reconcile)
        r.add_post("/api/v1/control/stop", self.stop_engine)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every failure is a JSON error line, never a traceback (which could show internals)."""
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.content_type == "application/json":
                raise
            return _error(exc.status, exc.reason or "error")
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as exc:
            log_event(log, logging.ERROR, "api request failed", path=request.path, error=type(exc).__name__)
            return _error(500, f"internal error ({type(exc).__name__})")

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        control = request.path.startswith("/api/v1/control/")
        guarded = control or (self.reads_need_token and request.path.startswith("/api/"))
        if guarded and not bearer_ok(request.headers.get("Authorization"), self.token):
            if self.token is None:
                return _error(401, f"control is disabled: no token is set in ${self.api.token_env}")
            return _error(401, "missing or wrong token (Authorization: Bearer <token>)")
        return await handler(request)

    def _engine(self) -> GridEngine:
        if self.engine is None:
            raise web.HTTPServiceUnavailable(
                text=json.dumps({"error": "the engine is not running"}), content_type="application/json"
            )
        return self.engine

    # ------------------------------------------------------------------ reads
    async def index(self, request: web.Request) -> web.StreamResponse:
        return await self._static_file("index.html")

    async def static(self, request: web.Request) -> web.StreamResponse:
        return await self._static_file(request.match_info["name"])

    async def _static_file(self, name: str) -> web.StreamResponse:
        suffix = name[name.rfind(".") :] if "." in name else ""
        if "/" in name or name.startswith(".") or suffix not in STATIC_TYPES:
            return _error(404, "no such file")
        path = files("gridledger.api") / "static" / name
        if not path.is_file():
            return _error(404, "no such file")
        return web.Response(
            body=path.read_bytes(),
            content_type=STATIC_TYPES[suffix],
            charset="utf-8",
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(document())

    async def status(self, request: web.Request) -> web.Response:
        extra = self.extra_status() if self.extra_status is not None else None
        return web.json_response(views.status_view(self._engine(), started_ms=self.started_ms, extra=extra))

    async def levels(self, request: web.Request) -> web.Response:
        around = _int_param(request, "around", views.AROUND_DEFAULT, 0, views.AROUND_MAX)
        return web.json_response(views.levels_view(self._engine(), around))

    async def orders(self, request: web.Request) -> web.Response:
        return web.json_response(views.orders_view(self._engine()))

    async def counters(self, request: web.Request) -> web.Response:
        return web.json_response(views.counters_view(self._engine()))

    async def fills_page(self, request: web.Request) -> web.Response:
        since = _int_param(request, "since", -1, -1, 2**62)
        after = _int_param(request, "after", 0, 0, 2**62)
        limit = _int_param(request, "limit", 100, 1, LIMIT_MAX)
        page = [f for f in self.fills if int(str(f["ts_ms"])) > since and int(str(f["seq"])) > after][:limit]
        return web.json_response(
            {
                "fills": page,
                "next_after": page[-1]["seq"] if page else after,
                "kept": len(self.fills),
                "kept_max": FILLS_KEPT,
                "oldest_ms": self.fills[0]["ts_ms"] if self.fills else None,
            }
        )

    async def history_page(self, request: web.Request) -> web.Response:
        return web.json_response({"samples": list(self.history), "recent_events": list(self.recent)})

    async def event_stream(self, request: web.Request) -> web.StreamResponse:
        engine = self._engine()
        sub = engine.events.subscribe(1000)
        self._streams.add(sub)
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        try:
            await resp.prepare(request)
            await resp.write(b"retry: 1000\n\n")
            point = self.sample()
            if point is not None:
                await resp.write(_sse_doc(events.STATUS, point))  # the page draws at once
            heartbeat = self.sample_every_s * 15
            while True:
                try:
                    event = await asyncio.wait_for(sub.get(), heartbeat)
                except TimeoutError:
                    await resp.write(b": keepalive\n\n")
                    continue
                if event is None:
                    break
                await resp.write(_sse(event))
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self._streams.discard(sub)
            engine.events.unsubscribe(sub)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await resp.write_eof()
        return resp

    # ------------------------------------------------------------------ control (token always)
    async def pause(self, request: web.Request) -> web.Response:
        engine = self._engine()
        engine.manual_pause = True
        log_event(log, logging.WARNING, "paused by the API: no new opening orders, closing sells go on")
        return web.json_response(views.status_view(engine, started_ms=self.started_ms))

    async def resume(self, request: web.Request) -> web.Response:
        engine = self._engine()
        engine.manual_pause = False
        log_event(log, logging.WARNING, "resumed by the API", still_paused=", ".join(engine.pause_reasons))
        return web.json_response(views.status_view(engine, started_ms=self.started_ms))

    async def reconcile(self, request: web.Request) -> web.Response:
        engine = self._engine()
        engine.reconciler.request("operator")
        return web.json_response({"accepted": True, "reason": "operator"}, status=202)

    async def stop_engine(self, request: web.Request) -> web.Response:
        log_event(log, logging.WARNING, "stop requested by the API")
        self.on_stop()
        return web.json_response({"accepted": True}, status=202)


def _sse_doc(kind: str, doc: dict[str, object]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'kind': kind, **doc}, separators=(',', ':'))}\n\n".encode()


def _sse(event: EngineEvent) -> bytes:
    return f"event: {event.kind}\ndata: {json.dumps(event.as_dict(), separators=(',', ':'))}\n\n".encode()
