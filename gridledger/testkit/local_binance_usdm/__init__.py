"""A local exchange server speaking the subset of Binance USDⓈ-M futures that ccxt's
``binanceusdm`` uses, over the simulated linear perpetual.

- :mod:`.server`: :class:`LocalBinanceUsdm` (aiohttp, in the caller's loop).
- :mod:`.config`: :class:`LocalBinanceUsdmConfig`.
- :mod:`.client`: :func:`build_usdm_client`, a ``ccxt.pro.binanceusdm`` pointed at a server.
- :mod:`.rest`, :mod:`.venue`, :mod:`.userstream`, :mod:`.market`, :mod:`.listenkeys`: the parts.
  Request security, parameters, errors, WebSocket peers, the server shell, the market-stream
  protocol, the client builder, the REST plumbing and the late-create fault are the spot
  server's (:mod:`gridledger.testkit.local_binance`).

Names are imported lazily, so the server does not import ccxt and the client not aiohttp's
server side.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "LocalBinanceUsdm": "server",
    "LocalBinanceUsdmConfig": "config",
    "build_usdm_client": "client",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from gridledger.testkit.local_binance_usdm.client import build_usdm_client as build_usdm_client
    from gridledger.testkit.local_binance_usdm.config import LocalBinanceUsdmConfig as LocalBinanceUsdmConfig
    from gridledger.testkit.local_binance_usdm.server import LocalBinanceUsdm as LocalBinanceUsdm


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
