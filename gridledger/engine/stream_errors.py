"""Why an account-stream watch failed, and what the engine does about it.

- ``DISCONNECT``: the socket dropped, timed out or the venue answered an error: reconnect
  with back-off and reconcile by REST (ccxt does not replay what was missed).
- ``LISTEN_KEY``: the venue no longer knows the user stream's listen key. Binance answers
  ``-1125 "This listenKey does not exist."`` (ccxt maps it to AuthenticationError, although
  the key and secret are fine), pushes ``listenKeyExpired`` before closing the connection,
  or refuses a connection opened with the dead key at the handshake. A key runs out after
  60 minutes without keepalive (a long outage, a suspended process), and Binance's answer
  is "create a new one". So it is a disconnect, plus: forget the dead key, so ccxt's next
  watch authenticates again (POST listenKey) instead of redialling the dead key until its
  own keepalive notices, up to ``listenKeyRefreshRate`` (20 minutes) later.
- ``FATAL``: genuinely bad credentials (-2015 invalid key/IP/permissions, -2014 key format,
  -1022 signature) or an unknown symbol: the engine must not trade through these.

ccxt's binance ``handle_errors`` puts the venue's JSON body in the message
(``binanceusdm {"code": -1125, "msg": "..."}``), and a refused WebSocket handshake arrives
as ``NetworkError(aiohttp.WSServerHandshakeError)`` naming the URL, listen key included.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from typing import Any

import aiohttp
import ccxt

# Binance: "This listenKey does not exist." (spot, margin, USDⓈ-M, COIN-M alike).
LISTEN_KEY_GONE_CODE = -1125
_GONE_TEXT = ("listenkey does not exist", "listenkeyexpired")
_CODE = re.compile(r'"code"\s*:\s*(-?\d+)')
# A listen key in a URL (``?listenKey=K``, ``/ws/K``) or a JSON field (``"listenKey": "K"``).
_KEY_FIELD = re.compile(r"(?P<name>listenKey[\"']?\s*[=:]\s*[\"']?)(?P<value>[A-Za-z0-9_\-]+)")
_KEY_PATH = re.compile(r"(?P<name>/ws/)(?P<value>[A-Za-z0-9_\-]{32,})")
# A handshake refused with one of these is rate limiting or a ban, not a dead key: asking
# for a new key would only make it worse.
_NOT_A_KEY_STATUS = frozenset({418, 429})


class StreamFault(str, Enum):
    DISCONNECT = "disconnect"
    LISTEN_KEY = "listen_key_expired"
    FATAL = "fatal"


def _body_code(text: str) -> int | None:
    """The ``code`` of the venue's JSON error body in a ccxt message, if there is one."""
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start:])
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), int):
            return int(body["code"])
    match = _CODE.search(text)
    return int(match.group(1)) if match else None


def _refused_handshake(exc: BaseException) -> tuple[int, str] | None:
    """(HTTP status, URL) when ``exc`` is ccxt's NetworkError for a refused WebSocket
    handshake (ccxt wraps the aiohttp error itself: ``NetworkError(e)``)."""
    for arg in (exc, *getattr(exc, "args", ())):
        if isinstance(arg, aiohttp.WSServerHandshakeError):
            return arg.status, str(arg.request_info.real_url)
    return None


def listen_key_gone(exc: BaseException) -> bool:
    """Whether ``exc`` says the user stream's listen key is dead (see the module doc)."""
    refused = _refused_handshake(exc)
    if refused is not None:
        status, url = refused
        return 400 <= status < 500 and status not in _NOT_A_KEY_STATUS and _has_key(url)
    text = str(exc)
    if _body_code(text) == LISTEN_KEY_GONE_CODE:
        return True
    lowered = text.lower()
    return any(marker in lowered for marker in _GONE_TEXT)


def classify(exc: BaseException) -> StreamFault:
    """What a failed account-stream watch means; the dead listen key first, because ccxt
    raises it as AuthenticationError."""
    if listen_key_gone(exc):
        return StreamFault.LISTEN_KEY
    if isinstance(exc, (ccxt.AuthenticationError, ccxt.BadSymbol)):
        return StreamFault.FATAL
    return StreamFault.DISCONNECT


def _has_key(text: str) -> bool:
    return _KEY_FIELD.search(text) is not None or _KEY_PATH.search(text) is not None


def forget_listen_key(exchange: Any, exc: BaseException) -> int:
    """Forget every listen key ccxt caches that ``exc`` names as dead; returns how many.

    The same reset ccxt's own ``keep_alive_listen_key`` makes when a keepalive fails
    (``options[type] = {listenKey: None, lastAuthenticatedTime: 0}``), so its next watch
    authenticates again. Only a key the error names is forgotten: another watch may
    already have taken a fresh key, which must stay. (A -1125 from ccxt's keepalive names
    no key: ccxt has already forgotten it.)
    """
    refused = _refused_handshake(exc)
    text = str(exc) if refused is None else f"{exc} {refused[1]}"
    options = getattr(exchange, "options", None)
    if not isinstance(options, dict):
        return 0
    forgotten = 0
    for name, bucket in list(options.items()):
        if not isinstance(bucket, dict):
            continue
        key = bucket.get("listenKey")
        if isinstance(key, str) and key and key in text:
            options[name] = {**bucket, "listenKey": None, "lastAuthenticatedTime": 0}
            forgotten += 1
    return forgotten


def mask_listen_keys(text: str) -> str:
    """``text`` with listen keys masked: a key reads the account's stream until it expires."""
    if "istenKey" not in text and "/ws/" not in text:
        return text
    text = _KEY_FIELD.sub(lambda m: m.group("name") + "***", text)
    return _KEY_PATH.sub(lambda m: m.group("name") + "***", text)
