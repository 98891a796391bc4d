"""The notifier: engine events in, at most one message per trade out, never in the engine's way.

It subscribes to the engine's event bus (gridledger/engine/events.py) and turns events
into messages: fills, pause/resume with the reason, drift (and drift cleared), repeated
reconnects, stop, and a daily summary. Its own task reads the subscription; formatting,
de-duplication and rate limits are quick and synchronous; sending happens on the sender's
thread (notify/sender.py). Nothing here awaits the network or raises into the engine.

Exactly one message per trade: the bus publishes FILL only for APPLIED evidence, so a
stream that delivers a trade many times yields one event; and the notifier remembers the
fills it sent (client id + trade id, or the order's cumulative fill) in a bounded LRU, so
an event published twice (a restart that re-applies evidence whose journal entry was lost
in a crash) is still one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from gridledger.config import NotifyConfig
from gridledger.display import human, quote
from gridledger.engine import events
from gridledger.engine.events import EngineEvent, EventBus, Subscription
from gridledger.logs import log_event, redact
from gridledger.notify.sender import Message, SendCounters, ThreadedSender

log = logging.getLogger("gridledger.notify")

# Fill keys remembered for de-duplication; far more than the fills between two restarts.
DEDUP_MEMORY = 20_000


@dataclass(frozen=True, slots=True)
class Summary:
    """The daily summary's figures, read from the engine when it is due."""

    realized_pnl: Decimal
    unrealized_pnl: Decimal | None
    position: Decimal
    round_trips: int
    price: Decimal | None = None
    # "short" or "neutral" (issue 11): ``position`` is then the signed net position. None for
    # a long grid, whose summary reads as before.
    direction: str | None = None


@dataclass(slots=True)
class NotifyCounters:
    events: int = 0  # events read from the bus
    messages: int = 0  # messages built (before the queue)
    fills: int = 0  # fill messages built
    deduplicated: int = 0  # FILL events already notified
    adjustments: int = 0  # FILL events that moved a slot without a new fill (late fees): not sent
    suppressed: dict[str, int] = field(default_factory=dict)  # over the per-kind rate limit
    send: SendCounters = field(default_factory=SendCounters)

    def as_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "messages": self.messages,
            "fills": self.fills,
            "deduplicated": self.deduplicated,
            "adjustments": self.adjustments,
            "suppressed": dict(self.suppressed),
            **self.send.as_dict(),
        }


class _Bucket:
    """A token bucket per kind: ``rate`` messages per minute, bursts up to ``rate``."""

    __slots__ = ("last_ms", "rate", "tokens")

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.tokens = float(rate)
        self.last_ms: int | None = None

    def take(self, now_ms: int) -> bool:
        if self.last_ms is not None and now_ms > self.last_ms:
            self.tokens = min(self.rate, self.tokens + (now_ms - self.last_ms) * self.rate / 60_000)
        self.last_ms = now_ms if self.last_ms is None else max(self.last_ms, now_ms)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Notifier:
    def __init__(
        self,
        cfg: NotifyConfig,
        sender: ThreadedSender,
        *,
        grid_id: str,
        symbol: str,
        now_ms: Callable[[], int],
        summary: Callable[[], Summary | None] | None = None,
        price_step: Callable[[], Decimal | None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.kinds = frozenset(cfg.kinds)
        self.sender = sender
        self.counters = NotifyCounters(send=sender.counters)
        self.grid_id = grid_id
        self.symbol = symbol
        self.now_ms = now_ms
        self._summary = summary
        self._price_step = price_step or (lambda: None)
        self._seen: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self._buckets: dict[str, _Bucket] = {}
        self._reconnects: deque[int] = deque(maxlen=max(1, cfg.reconnects))
        self._reconnect_alert_ms: int | None = None
        self._drift_alerting = False
        self._fills_today = 0
        self._sub: Subscription | None = None
        self._bus: EventBus | None = None
        self._pump: asyncio.Task[None] | None = None
        self._daily: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ wiring
    def set_sources(
        self,
        *,
        summary: Callable[[], Summary | None] | None = None,
        price_step: Callable[[], Decimal | None] | None = None,
    ) -> None:
        """Where the daily summary's figures and the market's price step come from."""
        if summary is not None:
            self._summary = summary
        if price_step is not None:
            self._price_step = price_step

    def attach(self, bus: EventBus) -> None:
        """Watch ``bus`` (a restarted engine has a new one: attach again; the memory of what
        was sent is kept). Starts the daily summary on the first call."""
        self.detach()
        self._bus = bus
        self._sub = bus.subscribe(maxsize=max(100, self.cfg.queue_size))
        self._pump = asyncio.ensure_future(self._read(self._sub))
        if self._daily is None and "summary" in self.kinds:
            self._daily = asyncio.ensure_future(self._daily_loop())

    def detach(self) -> None:
        if self._bus is not None and self._sub is not None:
            # Whatever the engine published before it stopped is still handled.
            while (event := self._sub.get_nowait()) is not None:
                self.handle(event)
            self._bus.unsubscribe(self._sub)
        if self._pump is not None:
            self._pump.cancel()
        self._bus = self._sub = self._pump = None

    async def aclose(self, drain_s: float = 5.0) -> None:
        """Handle what is left, stop the tasks, give the sender up to ``drain_s`` (real time)."""
        self.detach()
        if self._daily is not None:
            self._daily.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._daily
            self._daily = None
        await asyncio.to_thread(self.sender.close, drain_s)

    async def _read(self, sub: Subscription) -> None:
        async for event in sub:
            self.handle(event)

    # ------------------------------------------------------------------ events to messages
    def handle(self, event: EngineEvent) -> None:
        """One event; never raises (a formatting bug loses a message, not the engine)."""
        self.counters.events += 1
        try:
            self._handle(event)
        except Exception:
            log.exception("notifier: event %s not handled", event.kind)

    def _handle(self, event: EngineEvent) -> None:
        d = event.data
        kind = event.kind
        if kind == events.FILL:
            delta = d.get("filled_delta")
            if delta is not None and not Decimal(str(delta)):
                # The slot moved but the order did not fill more: a fee arriving after its
                # fill (base fees come off the inventory), not a trade.
                self.counters.adjustments += 1
                return
            if not self._first_time(d):
                self.counters.deduplicated += 1
                return
            self._fills_today += 1
            self._emit("fill", self._fill_text(d), "success")
        elif kind == events.PAUSE:
            reason = str(d.get("reason") or "no reason given")
            # A risk exit (engine/exits.py) closes the inventory and stops the grid for good.
            severity = "failure" if "risk exit" in reason else "warning"
            self._emit("pause", f"paused: no new opening orders ({reason})", severity)
        elif kind == events.RESUME:
            self._emit("resume", "resumed: opening orders allowed again", "info")
        elif kind == events.DRIFT:
            self._drift(d)
        elif kind == events.RECONNECT:
            self._reconnect(event.ts_ms, d)
        elif kind == events.STOP:
            self._emit("stop", f"stopped ({d.get('reason') or 'no reason given'})", "warning")

    def _first_time(self, d: Mapping[str, object]) -> bool:
        """True the first time this fill is seen. Keys: client id + trade id, and client id +
        the order's cumulative fill after it (a fill applied from an order update has no trade
        id; one seen both ways is one fill)."""
        order = str(d.get("client_id") or d.get("order_id") or "")
        keys: list[tuple[str, ...]] = []
        if d.get("trade_id"):
            keys.append((order, "trade", str(d["trade_id"])))
        if d.get("filled") is not None:
            keys.append((order, "filled", str(d["filled"])))
        if not keys:  # an event without either (an older engine): its own figures
            keys.append((order, "delta", str(d.get("qty")), str(d.get("price")), str(d.get("status"))))
        seen = any(k in self._seen for k in keys)
        for key in keys:
            self._seen[key] = None
            self._seen.move_to_end(key)
        while len(self._seen) > DEDUP_MEMORY:
            self._seen.popitem(last=False)
        return not seen

    def _fill_text(self, d: Mapping[str, object]) -> str:
        step = self._price_step()
        side = str(d.get("side") or "fill")
        qty = d.get("filled_delta") or d.get("qty")
        parts = [f"{side} {human(_s(qty))} {self.symbol} at {quote(_s(d.get('price')), step)}"]
        if d.get("level") is not None:
            parts.append(f"level {d['level']}")
        if d.get("role"):
            parts.append(f"({d['role']})")
        text = " ".join(parts)
        realized = _s(d.get("realized_delta"))
        if realized and Decimal(realized):
            text += f", realized {quote(realized, step)}"
        if d.get("fee") and d.get("fee_asset"):
            text += f", fee {human(_s(d.get('fee')))} {d['fee_asset']}"
        ids = [
            f"order {d['client_id']}" if d.get("client_id") else "",
            f"trade {d['trade_id']}" if d.get("trade_id") else "",
        ]
        ids = [i for i in ids if i]
        if ids:
            text += "\n" + ", ".join(ids)
        return text

    def _drift(self, d: Mapping[str, object]) -> None:
        ok = bool(d.get("ok"))
        if not ok:
            self._drift_alerting = True
            missing = d.get("missing") or ""
            text = f"drift: the exchange's base balance differs from the ledger's by {human(_s(d.get('base_drift')))}"
            if missing:
                text += f"; orders missing on the exchange: {missing}"
            if d.get("paused"):
                text += "; opening orders paused"
            self._emit("drift", text, "failure")
        elif self._drift_alerting:
            self._drift_alerting = False
            self._emit("drift", "drift cleared: the ledger agrees with the exchange again", "success")

    def _reconnect(self, ts_ms: int, d: Mapping[str, object]) -> None:
        window_ms = int(self.cfg.reconnect_window_s * 1000)
        self._reconnects.append(ts_ms)
        while self._reconnects and self._reconnects[0] < ts_ms - window_ms:
            self._reconnects.popleft()
        if len(self._reconnects) < self.cfg.reconnects:
            return
        if self._reconnect_alert_ms is not None and ts_ms - self._reconnect_alert_ms < window_ms:
            return  # one message per window, not one per reconnect
        self._reconnect_alert_ms = ts_ms
        minutes = human(Decimal(window_ms) / 60_000, 1)
        stream = f" (last: {d['stream']} stream)" if d.get("stream") else ""
        self._emit(
            "reconnect", f"{len(self._reconnects)} stream reconnects within {minutes} minutes{stream}", "warning"
        )

    # ------------------------------------------------------------------ daily summary
    def summary_text(self) -> str | None:
        figures = self._summary() if self._summary is not None else None
        step = self._price_step()
        fills, self._fills_today = self._fills_today, 0
        lines = [f"daily summary: {fills} fill(s) since the last summary"]
        if figures is not None:
            pnl = f"realized PnL {quote(figures.realized_pnl, step)}"
            if figures.unrealized_pnl is not None:
                pnl += f", unrealized {quote(figures.unrealized_pnl, step)}"
            lines.append(pnl)
            net = f" net ({figures.direction} grid)" if figures.direction else ""
            lines.append(f"position {human(figures.position)}{net}, round trips {figures.round_trips}")
            if figures.price is not None:
                lines.append(f"price {quote(figures.price, step)}")
        suppressed = {k: v for k, v in self.counters.suppressed.items() if v}
        if suppressed:
            lines.append("not sent (rate limit): " + ", ".join(f"{k} {v}" for k, v in sorted(suppressed.items())))
        return "\n".join(lines)

    def send_summary(self) -> None:
        text = self.summary_text()
        if text:
            self._emit("summary", text, "info", limit=False)

    async def _daily_loop(self) -> None:
        while True:
            now = self.now_ms()
            await asyncio.sleep(max(0.0, (next_at(now, self.cfg.summary_at) - now) / 1000))
            self.handle_summary()

    def handle_summary(self) -> None:
        try:
            self.send_summary()
        except Exception:
            log.exception("notifier: daily summary failed")

    # ------------------------------------------------------------------ out
    def _emit(self, kind: str, body: str, severity: str, *, limit: bool = True) -> None:
        if kind not in self.kinds:
            return
        if limit:
            bucket = self._buckets.get(kind)
            if bucket is None:
                bucket = self._buckets[kind] = _Bucket(self.cfg.rate_limit_per_min)
            if not bucket.take(self.now_ms()):
                n = self.counters.suppressed[kind] = self.counters.suppressed.get(kind, 0) + 1
                if n == 1 or n % 100 == 0:
                    log_event(
                        log, logging.WARNING, "notification over the rate limit: not sent", kind=kind, suppressed=n
                    )
                return
        title = f"gridledger {self.grid_id} {self.symbol}: {kind}"
        message = Message(kind, redact(title), redact(body), severity)  # never a secret in a payload
        self.counters.messages += 1
        if kind == "fill":
            self.counters.fills += 1
        self.sender.submit(message)


def next_at(now_ms: int, hhmm: str) -> int:
    """The next time of day ``hhmm`` (UTC) strictly after ``now_ms``, in epoch ms."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= now:
        at += timedelta(days=1)
    return int(at.timestamp() * 1000)


def _s(value: object) -> str | None:
    return None if value is None else str(value)


def wall_ms() -> int:
    return int(time.time() * 1000)
