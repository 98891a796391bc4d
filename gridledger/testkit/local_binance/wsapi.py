"""WebSocket API (``/ws-api/v3``): the user-data-stream subscription ccxt 4.5.90 uses.

ccxt's ``binance.authenticate`` for spot calls ``ensure_user_data_stream_ws_subscribe_signature``:
it connects to ``urls['api']['ws']['ws-api']['spot']`` and sends

    {"id": "1", "method": "userDataStream.subscribe.signature",
     "params": {"apiKey": ..., "timestamp": ..., "recvWindow": ..., "signature": ...}}

expecting ``{"id": "1", "status": 200, "result": {"subscriptionId": 0}}``; events then arrive
on the same connection as ``{"subscriptionId": 0, "event": {...}}``. Errors are answered
``{"id", "status", "error": {"code", "msg"}}``, which ccxt maps with the REST error table.
Also served: ``ping``, ``time``, ``userDataStream.unsubscribe``. WebSocket ping frames are
answered by aiohttp (autoping).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gridledger.testkit.local_binance.auth import verify_ws
from gridledger.testkit.local_binance.errors import ApiError
from gridledger.testkit.local_binance.peer import WsPeer
from gridledger.testkit.local_binance.venue import Venue

_SUBSCRIBE = "userDataStream.subscribe.signature"


class _Session:
    """One WebSocket API connection; at most one live user-data subscription on it."""

    def __init__(self, peer: WsPeer) -> None:
        self.peer = peer
        self.next_subscription_id = 0
        self.pending_subscription: int | None = None


class WsApi:
    def __init__(self, venue: Venue) -> None:
        self.venue = venue

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        peer = WsPeer(ws, request.transport)
        session = _Session(peer)
        self.venue.ws_api_peers.add(peer)
        try:
            await peer.run(lambda text: self._on_text(session, text))
        finally:
            self.venue.user.unsubscribe(peer)
            self.venue.ws_api_peers.discard(peer)
        return ws

    async def _on_text(self, session: _Session, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            session.peer.send_json(_error(None, ApiError(-1100, "Illegal characters found in a parameter.")))
            return
        if not isinstance(request, dict):
            session.peer.send_json(_error(None, ApiError(-1100, "Illegal characters found in a parameter.")))
            return
        req_id = request.get("id")
        method = str(request.get("method"))
        params = request.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise ApiError(-1130, "Data sent for parameter 'params' is not valid.")
            result = self._call(session, method, params)
        except ApiError as exc:
            session.peer.send_json(_error(req_id, exc))
            return
        session.peer.send_json({"id": req_id, "status": 200, "result": result})
        if session.pending_subscription is not None:
            # Only after the answer: ccxt must see the acknowledgement before the events
            # (a replay after a reconnect is sent right away).
            self.venue.user.subscribe(session.peer, session.pending_subscription)
            session.pending_subscription = None

    def _call(self, session: _Session, method: str, params: dict[str, Any]) -> dict[str, Any]:
        venue = self.venue
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": venue.now_ms()}
        if method == _SUBSCRIBE:
            verify_ws(params, venue.creds, venue.now_ms())
            if venue.user.subscription_of(session.peer) is not None:
                raise ApiError(-2010, "User Data Stream subscription already active.")
            session.pending_subscription = session.next_subscription_id
            session.next_subscription_id += 1
            return {"subscriptionId": session.pending_subscription}
        if method == "userDataStream.unsubscribe":
            venue.user.unsubscribe(session.peer)
            return {}
        raise ApiError(-1020, "This operation is not supported.")


def _error(req_id: Any, exc: ApiError) -> dict[str, Any]:
    return {"id": req_id, "status": exc.status, "error": exc.body()}
