"""Point a ccxt exchange at another endpoint (``[exchange] endpoint``: a proxy or a local test server).

Every URL ccxt could use is moved to the endpoint: REST bases keep their path on the new host,
the spot market streams go to ``/stream/ws`` and the spot WebSocket API (where ccxt 4.5.90
subscribes the user data stream) to ``/ws-api/v3``. USDⓈ-M (``binanceusdm``) streams go to
``/ws``, from which ccxt 4.5.90 derives ``/market/ws``, ``/public/ws`` and
``/private/ws?listenKey=...`` (its ``get_ws_url``). Any other stream URL points at
``/unsupported/...``, so its handshake fails instead of reaching the real venue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

_SPOT_STREAM_KEYS = ("spot", "margin")
_LINEAR_STREAM_KEY = "linear"  # USDⓈ-M: ccxt rewrites ".../ws" to .../{market,public,private}/ws


def endpoint_urls(original: Mapping[str, Any], http_base: str, ws_base: str) -> dict[str, Any]:
    """``urls['api']`` with every URL moved to the endpoint (see the module doc)."""
    out: dict[str, Any] = {}
    for key, value in original.items():
        if key == "ws":
            out[key] = _ws_urls(value, ws_base)
        elif isinstance(value, str):
            out[key] = http_base + urlsplit(value).path
        else:
            out[key] = value
    return out


def _ws_urls(original: Mapping[str, Any], ws_base: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in original.items():
        if key == "ws-api":
            out[key] = {
                k: f"{ws_base}/ws-api/v3" if k == "spot" else f"{ws_base}/unsupported/ws-api/{k}" for k in value
            }
        elif key in _SPOT_STREAM_KEYS:
            out[key] = f"{ws_base}/stream/ws"
        elif key == _LINEAR_STREAM_KEY:
            out[key] = f"{ws_base}/ws"
        else:
            out[key] = f"{ws_base}/unsupported/{key}"
    return out
