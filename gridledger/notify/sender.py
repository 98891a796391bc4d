"""Sending, off the engine's thread: a bounded queue and one daemon thread.

The engine is single-threaded asyncio (and runs on a virtual clock in paper sessions), so
the blocking HTTP calls of a notification service must not run on its loop, nor in the
loop's executor (the virtual clock waits for executor jobs). The engine side only ever
calls ``submit``, which never blocks: when the queue is full the message is dropped and
counted. The thread sends one message at a time with a deadline; a failure or an exception
is logged (redacted) and counted, never raised.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gridledger.logs import log_event, redact, register_secret

log = logging.getLogger("gridledger.notify")


@dataclass(frozen=True, slots=True)
class Message:
    kind: str  # fill, pause, resume, drift, reconnect, stop, summary
    title: str
    body: str
    severity: str = "info"  # apprise notify types: info, success, warning, failure


@dataclass(slots=True)
class SendCounters:
    """Read from any thread; each field is written by one thread only."""

    queued: int = 0  # handed to the sender thread
    dropped: int = 0  # the queue was full (the endpoint is slower than the events)
    sent: int = 0
    failed: int = 0  # the service answered an error, timed out or raised

    def as_dict(self) -> dict[str, int]:
        return {"queued": self.queued, "dropped": self.dropped, "sent": self.sent, "failed": self.failed}


SendFn = Callable[[Message], bool]
_STOP = object()


class ThreadedSender:
    def __init__(self, send: SendFn, queue_size: int, counters: SendCounters | None = None) -> None:
        self._send = send
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self.counters = counters or SendCounters()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="gridledger-notify", daemon=True)
        self._thread.start()

    def submit(self, message: Message) -> bool:
        """Queue ``message``; False (and counted) when the queue is full. Never blocks."""
        try:
            self._idle.clear()
            self._queue.put_nowait(message)
        except queue.Full:
            self.counters.dropped += 1
            if self.counters.dropped == 1 or self.counters.dropped % 100 == 0:
                log_event(
                    log,
                    logging.WARNING,
                    "notification dropped: the queue is full",
                    kind=message.kind,
                    dropped=self.counters.dropped,
                )
            return False
        self.counters.queued += 1
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._idle.set()
                return
            assert isinstance(item, Message)
            try:
                ok = self._send(item)
            except Exception as exc:  # a service plugin's bug must not kill the sender
                ok = False
                log_event(
                    log,
                    logging.WARNING,
                    "notification failed",
                    kind=item.kind,
                    error=redact(f"{type(exc).__name__}: {exc}")[:300],
                )
            if ok:
                self.counters.sent += 1
            else:
                self.counters.failed += 1
                if self.counters.failed == 1 or self.counters.failed % 100 == 0:
                    log_event(
                        log, logging.WARNING, "notification not delivered", kind=item.kind, failed=self.counters.failed
                    )
            if self._queue.empty():
                self._idle.set()

    def drain(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` (real time) for the queue to empty; True if it did."""
        return self._idle.wait(timeout_s)

    def close(self, timeout_s: float = 0.0) -> None:
        """Stop the thread after what is queued, waiting at most ``timeout_s``; a thread
        stuck on a hanging endpoint is a daemon and dies with the process."""
        try:
            self._queue.put(_STOP, timeout=max(timeout_s, 0.001))
        except queue.Full:
            return
        self._thread.join(timeout_s)


def split_urls(text: str | None) -> list[str]:
    """Apprise URLs from an environment variable: separated by blanks, commas or newlines."""
    if not text:
        return []
    return [u for u in text.replace(",", " ").split() if u]


def _with_timeouts(url: str, timeout_s: float) -> str:
    # Apprise reads socket timeouts from every URL (cto: connect, rto: read; 4 s by default).
    if "cto=" in url or "rto=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}cto={timeout_s:g}&rto={timeout_s:g}"


def apprise_send(urls: Sequence[str], timeout_s: float) -> SendFn:
    """A send function over apprise; the URLs (they hold tokens) are registered as secrets."""
    import apprise

    # Apprise logs failures itself, sometimes with the service URL: only errors, and those
    # through the redacting last-resort handler (gridledger.logs.setup_logging).
    logging.getLogger("apprise").setLevel(logging.ERROR)
    client = apprise.Apprise()
    for url in urls:
        register_secret(url)
        if not client.add(_with_timeouts(url, timeout_s)):
            raise ValueError(
                "a notification URL is not one apprise understands (the URL is not shown: it may hold a token)"
            )

    def send(message: Message) -> bool:
        return bool(
            client.notify(body=message.body, title=message.title, notify_type=message.severity, timeout=timeout_s)
        )

    return send
