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
from typing import Any

import ccxt.pro

from gridledger.testkit.local_binance.client import LocalEndpoint, build_local_client


def build_usdm_client(
    server: LocalEndpoint | str,
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
    return build_local_client(
        ccxt.pro.binanceusdm,
        server,
        market_types=["linear"],
        default_type="swap",
        api_key=api_key,
        secret=secret,
        timeout_ms=timeout_ms,
        enable_rate_limit=enable_rate_limit,
        options=options,
    )
