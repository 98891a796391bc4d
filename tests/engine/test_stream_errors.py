"""An expired or unknown listen key is a disconnect, genuine bad credentials are fatal.

The venue errors are built the way ccxt builds them: its own binance / binanceusdm
``handle_errors`` on Binance's JSON body (ccxt maps -1125 to AuthenticationError, like the
credential errors), and a refused WebSocket handshake as ccxt wraps it,
``NetworkError(aiohttp.WSServerHandshakeError)``.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import aiohttp
import ccxt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from gridledger.engine import events
from gridledger.engine.shared import EngineFatal, EngineStats
from gridledger.engine.stream_errors import StreamFault, classify, forget_listen_key, mask_listen_keys
from gridledger.engine.streams import Streams

KEY = "pqHdAbcDEFghij0123456789klmnOPQRstuvWXYZabcdefghijklmnop0123456789"

EXCHANGES = [ccxt.binanceusdm, ccxt.binance]
KEEPALIVE_URLS = ["https://fapi.binance.com/fapi/v1/listenKey", "https://api.binance.com/api/v3/userDataStream"]


def venue_error(cls: type, code: int, msg: str, url: str = KEEPALIVE_URLS[0]) -> BaseException:
    """The exception ccxt's own error mapping raises for Binance's answer ``{code, msg}``."""
    body = json.dumps({"code": code, "msg": msg})
    try:
        cls().handle_errors(400, "Bad Request", url, "PUT", {}, body, json.loads(body), {}, None)
    except ccxt.BaseError as exc:
        return exc
    raise AssertionError(f"ccxt raised nothing for {body}")


def handshake_error(status: int, url: str) -> ccxt.NetworkError:
    """ccxt's error for a refused WebSocket handshake (its ws client: ``NetworkError(e)``)."""
    info = aiohttp.RequestInfo(URL(url), "GET", CIMultiDictProxy(CIMultiDict()), URL(url))
    return ccxt.NetworkError(aiohttp.WSServerHandshakeError(info, (), status=status, message="Invalid response status"))


@pytest.mark.parametrize("cls", EXCHANGES)
@pytest.mark.parametrize("url", KEEPALIVE_URLS)
def test_an_unknown_listen_key_is_a_disconnect_although_ccxt_calls_it_authentication(cls: type, url: str) -> None:
    exc = venue_error(cls, -1125, "This listenKey does not exist.", url)
    assert isinstance(exc, ccxt.AuthenticationError)  # what made the engine stop
    assert classify(exc) is StreamFault.LISTEN_KEY


@pytest.mark.parametrize("cls", EXCHANGES)
@pytest.mark.parametrize(
    ("code", "msg"),
    [
        (-2015, "Invalid API-key, IP, or permissions for action."),
        (-2014, "API-key format invalid."),
        (-1022, "Signature for this request is not valid."),
    ],
)
def test_bad_credentials_stay_fatal(cls: type, code: int, msg: str) -> None:
    exc = venue_error(cls, code, msg)
    assert isinstance(exc, ccxt.AuthenticationError)
    assert classify(exc) is StreamFault.FATAL


def test_other_failures_keep_their_meaning() -> None:
    assert classify(ccxt.BadSymbol("binanceusdm does not have market symbol X")) is StreamFault.FATAL
    assert classify(ccxt.NetworkError("Connection closed by remote server, closing code 1000")) is (
        StreamFault.DISCONNECT
    )
    assert classify(ConnectionResetError("Cannot write to closing transport")) is StreamFault.DISCONNECT
    assert classify(venue_error(ccxt.binanceusdm, -1003, "Too many requests.")) is StreamFault.DISCONNECT
    # ccxt's own "received an empty listenKey" is not the venue saying the key is gone.
    assert classify(ccxt.AuthenticationError("binanceusdm authenticate() received an empty listenKey")) is (
        StreamFault.FATAL
    )
    assert classify(ccxt.ExchangeError('binanceusdm {"e": "listenKeyExpired", "E": 1}')) is StreamFault.LISTEN_KEY


@pytest.mark.parametrize("url", [f"wss://fstream.binance.com/private/ws?listenKey={KEY}", f"wss://x/ws/{KEY}"])
def test_a_refused_handshake_on_a_listen_key_url_is_a_dead_key(url: str) -> None:
    assert classify(handshake_error(400, url)) is StreamFault.LISTEN_KEY
    assert classify(handshake_error(404, url)) is StreamFault.LISTEN_KEY
    # Rate limited or banned: a new key would not help, and asking for one makes it worse.
    assert classify(handshake_error(429, url)) is StreamFault.DISCONNECT
    assert classify(handshake_error(418, url)) is StreamFault.DISCONNECT
    assert classify(handshake_error(503, url)) is StreamFault.DISCONNECT


def test_a_refused_public_handshake_is_only_a_disconnect() -> None:
    assert classify(handshake_error(400, "wss://fstream.binance.com/market/ws/btcusdt@ticker")) is (
        StreamFault.DISCONNECT
    )


def test_only_the_key_the_error_names_is_forgotten() -> None:
    fresh = "N" * 64
    ex = SimpleNamespace(
        options={
            "linear": {"listenKey": KEY, "lastAuthenticatedTime": 5, "other": 1},
            "inverse": {"listenKey": fresh, "lastAuthenticatedTime": 7},
            "defaultType": "swap",
        }
    )
    exc = handshake_error(400, f"ws://127.0.0.1:1/private/ws?listenKey={KEY}")
    assert forget_listen_key(ex, exc) == 1
    assert ex.options["linear"] == {"listenKey": None, "lastAuthenticatedTime": 0, "other": 1}
    assert ex.options["inverse"] == {"listenKey": fresh, "lastAuthenticatedTime": 7}
    # ccxt's keepalive -1125 names no key (ccxt has already forgotten it): nothing to do.
    assert forget_listen_key(ex, venue_error(ccxt.binanceusdm, -1125, "This listenKey does not exist.")) == 0
    assert ex.options["inverse"]["listenKey"] == fresh


@settings(max_examples=60, deadline=None)
@given(key=st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=32, max_size=64))
def test_listen_keys_never_reach_a_log_line(key: str) -> None:
    for text in (
        f"400, message='Invalid response status', url='wss://h/private/ws?listenKey={key}'",
        f"url='wss://h/ws/{key}'",
        json.dumps({"e": "listenKeyExpired", "listenKey": key}),
    ):
        assert key not in mask_listen_keys(text)


class _Exchange:
    """watch_orders raising the given errors in turn, then an empty update list."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.options: dict[str, Any] = {"linear": {"listenKey": KEY, "lastAuthenticatedTime": 1}}
        self.calls = 0

    async def watch_orders(self) -> list[dict[str, Any]]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        await asyncio.sleep(0)
        return []


def _streams(ex: _Exchange, reasons: list[str]) -> tuple[Streams, Any]:
    eng = SimpleNamespace(stream_idle_s=5.0, stream_backoff_s=0.001, stream_backoff_max_s=0.001)
    feed = events.EventBus()
    sh = SimpleNamespace(ex=ex, eng=eng, stats=EngineStats(), events=feed, now_ms=lambda: 1, stopping=False)
    return Streams(sh, seed=1, request_reconcile=reasons.append), sh  # type: ignore[arg-type]


def test_the_watch_reconnects_reconciles_and_counts_on_an_expired_key() -> None:
    dead = venue_error(ccxt.binanceusdm, -1125, "This listenKey does not exist.")
    refused = handshake_error(400, f"ws://127.0.0.1:1/private/ws?listenKey={KEY}")
    ex = _Exchange(dead, refused)
    reasons: list[str] = []
    streams, sh = _streams(ex, reasons)
    sub = sh.events.subscribe()

    def handle(update: dict[str, Any], source: str) -> list[Any]:
        return []

    async def scenario() -> None:
        task = asyncio.ensure_future(streams.watch("orders", ex.watch_orders, handle))
        while ex.calls < 3 and not task.done():
            await asyncio.sleep(0)
        sh.stopping = True
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert sh.stats.listen_key_expiries == 2 and sh.stats.reconnects == 2
    assert reasons == ["reconnect", "reconnect"]
    assert ex.options["linear"]["listenKey"] is None  # the refused key was forgotten
    seen = [sub.get_nowait() for _ in range(2)]
    assert [(e.kind, e.data["reason"]) for e in seen if e is not None] == [(events.RECONNECT, "listen_key_expired")] * 2


def test_the_watch_still_stops_on_bad_credentials() -> None:
    ex = _Exchange(venue_error(ccxt.binanceusdm, -2015, "Invalid API-key, IP, or permissions for action."))
    streams, sh = _streams(ex, [])

    async def scenario() -> None:
        await streams.watch("orders", ex.watch_orders, lambda u, s: [])

    with pytest.raises(EngineFatal, match="-2015"):
        asyncio.run(scenario())
    assert sh.stats.reconnects == 0
