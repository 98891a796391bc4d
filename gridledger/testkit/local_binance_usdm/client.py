"""Build an unmodified ``ccxt.pro.binanceusdm`` that talks to a :class:`LocalBinanceUsdm`.

Every URL ccxt could use is rewritten to the local server by the same
:func:`gridledger.live.endpoint.endpoint_urls` that ``gridledger live`` uses with
``[exchange] endpoint``: REST bases keep their path on the local host (``/fapi/v1``,
``/fapi/v2``, ``/fapi/v3``, ``/sapi/v1``, ...), the USDⓈ-M stream base becomes
``ws://HOST:PORT/ws``, from which ccxt derives ``/market/ws/<n>`` (tickers, mark price),
``/public/ws/<n>`` (book ticker) and ``/private/ws?listenKey=...`` (the user data stream).
Other stream URLs point at ``/unsupported/...`` (the handshake fails: ccxt NetworkError).

Options set, and why:

- ``fetchMarkets.types = ["linear"]`` (binanceusdm's own default, explicit): only fapi's
  exchangeInfo is loaded.
- ``fetchCurrencies = False``: with credentials, ``load_markets`` would call
  ``sapi/v1/capital/config/getall`` (the server answers it, but it is one more round trip).
- ``fetchMargins = False``, ``adjustForTimeDifference = False``: as for spot.

``exchange.number = str`` keeps every amount a string (no float rounding).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import ccxt.pro

from gridledger.live.endpoint import endpoint_urls


class _Endpoint(Protocol):
    @property
    def http_url(self) -> str: ...

    @property
    def config(self) -> Any: ...


def build_usdm_client(
    server: _Endpoint | str,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    timeout_ms: int = 10_000,
    enable_rate_limit: bool = False,
    options: Mapping[str, Any] | None = None,
) -> Any:
    """A ``ccxt.pro.binanceusdm`` pointed at ``server`` (a LocalBinanceUsdm or its URL).

    Credentials default to the server's. ``options`` are merged over the ones set here.
    Close it with ``await exchange.close()``.
    """
    if isinstance(server, str):
        http_base = server.rstrip("/")
        if api_key is None or secret is None:
            raise ValueError("api_key and secret are required when the server is given by URL")
    else:
        http_base = server.http_url
        api_key = api_key if api_key is not None else server.config.api_key
        secret = secret if secret is not None else server.config.secret
    if not http_base.startswith("http://"):
        raise ValueError(f"expected an http:// base URL, got {http_base!r}")
    ws_base = "ws://" + http_base[len("http://") :]
    settings: dict[str, Any] = {
        "fetchMarkets": {"types": ["linear"]},
        "fetchMargins": False,
        "fetchCurrencies": False,
        "adjustForTimeDifference": False,
        "defaultType": "swap",
    }
    settings.update(options or {})
    exchange = ccxt.pro.binanceusdm(
        {
            "apiKey": api_key,
            "secret": secret,
            "enableRateLimit": enable_rate_limit,
            "timeout": timeout_ms,
            "options": settings,
        }
    )
    local = endpoint_urls(exchange.urls["api"], http_base, ws_base)
    exchange.urls["api"] = local
    exchange.urls["test"] = dict(local)
    exchange.urls["demo"] = dict(local)
    exchange.number = str
    return exchange
