"""A local exchange server speaking the subset of Binance SPOT that ccxt's ``binance`` uses.

- :mod:`.server`: :class:`LocalBinance` (aiohttp, in the caller's loop, one SimCore).
- :mod:`.config`: :class:`LocalBinanceConfig`, :class:`InjectionCounters`.
- :mod:`.client`: :func:`build_client`, a ``ccxt.pro.binance`` pointed at a server.
- :mod:`.rest`, :mod:`.wsapi`, :mod:`.market`, :mod:`.userstream`, :mod:`.auth`: the parts.
- Shared with :mod:`gridledger.testkit.local_binance_usdm`: :mod:`.server_base` (lifecycle,
  prices, waiters, raw-frame faults), :class:`.market.StreamHub` (the market-stream protocol),
  :func:`.client.build_local_client`, :mod:`.rest_handlers` (PUBLIC/SIGNED plumbing),
  :mod:`.create_delay` (the late-create fault), :func:`.config.check_server_fields`.

Names are imported lazily, so the server does not import ccxt and the client not aiohttp's
server side.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "LocalBinance": "server",
    "LocalBinanceConfig": "config",
    "InjectionCounters": "config",
    "build_client": "client",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    # Redundant aliases: re-exports for type checkers (the names load lazily at run time).
    from gridledger.testkit.local_binance.client import build_client as build_client
    from gridledger.testkit.local_binance.config import InjectionCounters as InjectionCounters
    from gridledger.testkit.local_binance.config import LocalBinanceConfig as LocalBinanceConfig
    from gridledger.testkit.local_binance.server import LocalBinance as LocalBinance


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
