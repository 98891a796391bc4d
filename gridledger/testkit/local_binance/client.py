"""Build an unmodified ``ccxt.pro.binance`` that talks to a :class:`LocalBinance`.

Every URL ccxt could use is rewritten to the local server, so nothing ever reaches the real
Binance: spot REST (``public``/``private``/``v1`` -> ``http://HOST:PORT/api/v3``, ``/api/v1``),
the market streams (``ws`` spot/margin -> ``ws://HOST:PORT/stream/ws``), the WebSocket API
(``ws-api`` spot -> ``ws://HOST:PORT/ws-api/v3``, where ccxt 4.5.90 subscribes the spot user
data stream). The other REST bases (sapi, fapi, dapi, eapi, papi, ...) keep their path on the
local host, where they answer 404 (ccxt: ExchangeError naming the path); the other stream
URLs point at ``/unsupported/...`` (the handshake fails: ccxt NetworkError).

Options set, and why:

- ``fetchMarkets.types = ["spot"]``: ``load_markets`` would also fetch the linear (fapi) and
  inverse (dapi) exchangeInfo; the server has only the spot market.
- ``fetchMargins = False``: with credentials, ``fetch_markets`` would also call
  ``sapi/v1/margin/allPairs`` and ``margin/isolated/allPairs``.
- ``fetchCurrencies = False``: with credentials, ``load_markets`` would call
  ``sapi/v1/capital/config/getall``; ccxt then derives currencies from the markets, which
  carry their own precision.
- ``adjustForTimeDifference = False`` (ccxt's default, made explicit): the server runs on the
  wall clock, so the local clock is right and no ``/api/v3/time`` round trip is needed.

``exchange.number = str`` keeps every amount a string (no float rounding); the gridledger
normaliser parses them as Decimal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import ccxt.pro

from gridledger.live.endpoint import endpoint_urls


class LocalEndpoint(Protocol):
    """What the builder needs from a server (a :class:`LocalBinance` has it)."""

    @property
    def http_url(self) -> str: ...

    @property
    def config(self) -> Any: ...


def build_client(
    server: LocalEndpoint | str,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    timeout_ms: int = 10_000,
    enable_rate_limit: bool = False,
    options: Mapping[str, Any] | None = None,
) -> Any:
    """A ``ccxt.pro.binance`` pointed at ``server`` (a LocalBinance or its ``http_url``).

    Credentials default to the server's (pass others to test authentication failures).
    ``timeout_ms`` is ccxt's REST timeout. Rate limiting is off by default: the local server
    does not limit, and the throttle would only slow tests down. ``options`` are merged
    over the ones set here. Close it with ``await exchange.close()``.
    """
    return build_local_client(
        ccxt.pro.binance,
        server,
        market_types=["spot"],
        default_type="spot",
        api_key=api_key,
        secret=secret,
        timeout_ms=timeout_ms,
        enable_rate_limit=enable_rate_limit,
        options=options,
    )


def build_local_client(
    exchange_class: Callable[[dict[str, Any]], Any],
    server: LocalEndpoint | str,
    *,
    market_types: list[str],
    default_type: str,
    api_key: str | None,
    secret: str | None,
    timeout_ms: int,
    enable_rate_limit: bool,
    options: Mapping[str, Any] | None,
) -> Any:
    """An ``exchange_class`` (a ccxt.pro Binance class) with every URL on the local server;
    the spot and the USDⓈ-M builders differ only in the class and the market types."""
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
        "fetchMarkets": {"types": list(market_types)},
        "fetchMargins": False,
        "fetchCurrencies": False,
        "adjustForTimeDifference": False,
        "defaultType": default_type,
    }
    settings.update(options or {})
    exchange = exchange_class(
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
    # set_sandbox_mode / demo trading would swap these in: keep them local too.
    exchange.urls["test"] = dict(local)
    exchange.urls["demo"] = dict(local)
    exchange.number = str
    return exchange
