"""The USDⓈ-M user data stream: bare events on every connection opened with the listen key.

Same fan-out, latency and fault injection as the spot server's
:class:`~gridledger.testkit.local_binance.userstream.UserStream` (one :class:`FaultyStream`
models the venue's side of the wire; every connection holds a cursor into what it delivered;
a ``disconnect_every`` drop closes every connection and a reconnect replays
``replay_last``). Only the framing differs: a futures stream connection
(``/private/ws?listenKey=...``) carries the raw events, ``{"e": "ORDER_TRADE_UPDATE", ...}``,
without the WebSocket-API ``{"subscriptionId", "event"}`` envelope, and a connection
subscribes by connecting, not with a request.
"""

from __future__ import annotations

from typing import Any

from gridledger.testkit.local_binance.peer import dumps
from gridledger.testkit.local_binance.userstream import Sink, UserStream

Payload = dict[str, Any]


class UsdmUserStream(UserStream):
    """:class:`UserStream` with bare frames (see the module doc)."""

    def attach(self, sink: Sink) -> None:
        """A connection with a valid listen key opened: it receives what happens from now on
        (and, after a drop, the replay of ``replay_last``)."""
        self.subscribe(sink, 0)

    def inject_event(self, event: Payload) -> int:
        """Send ``event`` to every connection now, bypassing faults and latency."""
        text = dumps(event)
        return self.inject(lambda _sid: text)

    def terminate(self, event: Payload) -> int:
        """Send ``event`` (``listenKeyExpired``) and close every connection, as Binance does
        when a listen key runs out or is deleted."""
        count = self.inject_event(event)
        for sub in list(self._subs):
            sub.sink.close_soon(abort=False)
        self._subs = []
        self._changed()
        return count

    def _deliver(self) -> None:
        """FaultyStream listener: send what was delivered; close connections on a drop."""
        log = self.stream.log
        dropped = False
        for sub in self._subs:
            for event in log[sub.cursor :]:
                sub.sink.send_text(dumps(event))
            sub.cursor = len(log)
            if sub.epoch != self.stream.epoch:
                sub.sink.close_soon(abort=self._abort)
                dropped = True
        if dropped:
            self._subs = [s for s in self._subs if s.epoch == self.stream.epoch]
            self._changed()
