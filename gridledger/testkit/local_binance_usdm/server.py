"""LocalBinanceUsdm: a Binance USDⓈ-M futures look-alike on 127.0.0.1 for ccxt's ``binanceusdm``.

    async with LocalBinanceUsdm(LocalBinanceUsdmConfig()) as server:
        exchange = build_usdm_client(server)     # client.py: ccxt.pro.binanceusdm -> here
        ...
        await server.set_price(Decimal("29900"))  # manual mode: the price moves only here
        await server.settle_funding(Decimal("0.0001"))  # a funding payment, now
        await exchange.close()

For ``gridledger live``: ``[exchange] id = "binanceusdm"``, ``endpoint = server.http_url``
(``gridledger.live.endpoint`` maps the USDⓈ-M stream base to ``/ws``), and the server's
``api_key`` / ``secret`` in the environment variables the config names.

It runs in the caller's event loop (aiohttp), wraps one simulated linear perpetual
(``server.venue``; ``server.core`` is the ground truth) and serves:

- ``/fapi/v1|v2|v3/...`` REST (:mod:`.rest`); SIGNED requests are checked like Binance's
  (HMAC-SHA256, API key, timestamp window); listen keys (:mod:`.listenkeys`) need the key only;
- ``/private/ws?listenKey=K`` (and the older ``/ws/K``): the user data stream
  (``ORDER_TRADE_UPDATE``, ``TRADE_LITE``, ``ACCOUNT_UPDATE`` with reasons ``ORDER`` and
  ``FUNDING_FEE``, ``listenKeyExpired``), :mod:`.userstream`;
- ``/market/ws[/streams]`` and ``/public/ws[/streams]``: market streams (:mod:`.market`).
  The paths never contain ``/stream``: ccxt takes such a URL for spot.

Faults (see :class:`LocalBinanceUsdmConfig`): user-stream duplicates / reordering /
disconnects / replays and latency, a drop on demand (``drop_user_stream``), late answers to
creates, HTTP status faults and random REST errors, injected frames (``inject_event``,
``inject_raw``, ``inject_malformed_json``, ``inject_unknown_fields``,
``inject_other_symbol``), and a listen key expired on demand (``expire_listen_key``).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Coroutine, Iterable
from decimal import Decimal
from typing import Any

from aiohttp import web

from gridledger.testkit.local_binance.peer import dumps
from gridledger.testkit.local_binance.server_base import LocalServerBase
from gridledger.testkit.local_binance_usdm.config import LocalBinanceUsdmConfig
from gridledger.testkit.local_binance_usdm.rest import UsdmRestApi
from gridledger.testkit.local_binance_usdm.venue import UsdmVenue

MALFORMED_JSON = '{"e":"ORDER_TRADE_UPDATE","E":17'


class LocalBinanceUsdm(LocalServerBase):
    """One local Binance USDⓈ-M venue; see the module docstring. Lifecycle, prices, waiters
    and raw-frame faults are :class:`LocalServerBase`'s; here: the futures routes and frames."""

    config: LocalBinanceUsdmConfig
    venue: UsdmVenue
    malformed_json = MALFORMED_JSON
    feed_task_name = "local-usdm-feed"

    def __init__(self, config: LocalBinanceUsdmConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else LocalBinanceUsdmConfig()
        self.venue = UsdmVenue(self.config, self.faults, self._notify)

    def _add_routes(self, app: web.Application) -> None:
        rest = UsdmRestApi(self.venue, lambda: self.klines)
        app.add_routes(
            [
                web.get("/private/ws", self._private),
                web.get("/ws/{key}", self._private),
                web.get("/market/ws", self._market),
                web.get("/market/ws/{tail:.*}", self._market),
                web.get("/public/ws", self._market),
                web.get("/public/ws/{tail:.*}", self._market),
            ]
        )
        app.add_routes(rest.routes())
        app.add_routes([web.route("*", "/{tail:.*}", rest.not_found)])

    def _user_peers(self) -> list[Any]:
        return list(self.venue.user_peers)

    def _extra_tasks(self) -> Iterable[tuple[Coroutine[Any, Any, None], str]]:
        if self.config.ticker_every_ms:
            yield self._beat(), "local-usdm-ticker"

    def _extra_counters(self) -> dict[str, int]:
        return dict(self.venue.extra_counters())

    async def _beat(self) -> None:
        """``ticker_every_ms``: the market streams again, at the last print's figures."""
        while True:
            await asyncio.sleep(self.config.ticker_every_ms / 1000)
            self.venue.publish_market()

    # --- WebSocket routes ----------------------------------------------------------------------

    async def _private(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info.get("key") or request.query.get("listenKey", "")
        venue = self.venue
        venue.expire_listen_key()
        if not venue.listen_keys.is_valid(key, venue.now_ms()):
            body = dumps({"code": -1125, "msg": "This listenKey does not exist."})
            return web.Response(text=body, status=400, content_type="application/json")
        return await venue.serve_user(request)

    async def _market(self, request: web.Request) -> web.StreamResponse:
        return await self.venue.market.handle(request, request.match_info.get("tail", ""))

    # --- ground truth --------------------------------------------------------------------------

    @property
    def core(self) -> Any:
        """The simulated perpetual (ground truth for audits)."""
        return self.venue.core

    # --- the market ----------------------------------------------------------------------------

    async def settle_funding(self, rate: Decimal | str | None = None) -> Any:
        """One funding settlement now, at ``rate`` (default: the spec's next rate); returns the
        payment (None when the position is flat: nothing is paid, as on Binance)."""
        payment = self.venue.settle_funding(None if rate is None else Decimal(rate))
        await self.flushed()
        return payment

    # --- faults --------------------------------------------------------------------------------

    def drop_user_stream(self) -> None:
        """Drop every user-stream connection now (a network failure; replay on reconnect)."""
        self.venue.user.stream.disconnect()

    def inject_event(self, event: dict[str, Any]) -> int:
        """Send ``event`` on every user-stream connection now, bypassing faults and latency."""
        return self.venue.user.inject_event(event)

    def inject_unknown_fields(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Re-send the latest ``ORDER_TRADE_UPDATE`` with fields Binance might add one day (in
        the event and in its ``o``). A copy of a real event: the engine also sees a duplicate.
        LookupError when there is none yet."""
        for event in reversed(self.core.events):
            if event.kind == "ORDER_TRADE_UPDATE":
                payload = copy.deepcopy(event.payload)
                break
        else:
            raise LookupError("no ORDER_TRADE_UPDATE yet to copy")
        fields = extra if extra is not None else {"zz": "new-field", "Xq": {"nested": [1, 2]}, "ξ": None}
        payload.update(fields)
        payload["o"].update(fields)
        self.injected.unknown_fields += 1
        self.inject_event(payload)
        return payload

    def inject_other_symbol(self, venue_id: str = "ETHUSDT", order_id: int = 900_000_001) -> dict[str, Any]:
        """A well-formed NEW ``ORDER_TRADE_UPDATE`` for a symbol this venue does not list."""
        now = self.venue.now_ms()
        payload: dict[str, Any] = {
            "e": "ORDER_TRADE_UPDATE",
            "E": now,
            "T": now,
            "o": {
                "s": venue_id,
                "c": "other-symbol-order",
                "S": "BUY",
                "o": "LIMIT",
                "f": "GTC",
                "q": "1",
                "p": "1000",
                "ap": "0",
                "sp": "0",
                "x": "NEW",
                "X": "NEW",
                "i": order_id,
                "l": "0",
                "z": "0",
                "L": "0",
                "T": now,
                "t": 0,
                "b": "1000",
                "a": "0",
                "m": False,
                "R": False,
                "wt": "CONTRACT_PRICE",
                "ot": "LIMIT",
                "ps": "BOTH",
                "cp": False,
                "rp": "0",
                "pP": False,
                "si": 0,
                "ss": 0,
                "V": "EXPIRE_MAKER",
                "pm": "NONE",
                "gtd": 0,
            },
        }
        self.injected.other_symbol += 1
        self.inject_event(payload)
        return payload

    async def expire_listen_key(self) -> int:
        """The listen key runs out now: ``listenKeyExpired`` on its connections, which close
        (the futures counterpart of the spot server's ``terminate_user_stream``)."""
        self.injected.stream_terminated += 1
        count = self.venue.expire_listen_key(force=True)
        await self.flushed()
        return count


__all__ = ["MALFORMED_JSON", "LocalBinanceUsdm"]
