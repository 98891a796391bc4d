"""A simulated Binance-like spot exchange for paper trading and deterministic tests.

- :mod:`.clock`: :class:`VirtualTimeLoop`, :func:`run_virtual`, :func:`now_ms`.
- :mod:`.prices`: :class:`Tick` and the price paths.
- :mod:`.values`: the value types (:class:`SimMarketSpec`, :class:`SimOrder`, :class:`SimTrade`, ...).
- :mod:`.errors`: :class:`SimOrderError` and the venue's other refusals.
- :mod:`.matching`: :class:`SimCore`, the synchronous ground truth, with its parts
  :mod:`.order_rules` (order checks and filters), :mod:`.fees` (locks and commissions),
  :mod:`.balance_book` (free and locked balances) and :mod:`.print_window` (24 h ticker window).
- :mod:`.binance_format`: Binance spot wire formats for orders, trades and the user data stream.
- :mod:`.binance_market`: Binance spot wire formats for the account and market data.
- :mod:`.faults`: private-stream fault injection and fault counters.
- :mod:`.venue_config`: :class:`SimConfig`, :class:`SyntheticParams`, :class:`PathExhausted`.
- :mod:`.venue_runtime`: the venue in time (price feed, stream delivery, REST latency).
- :mod:`.exchange`: :class:`SimExchange`, the ccxt-shaped async adapter.

Names are imported lazily, so using the core alone does not import ccxt.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "VirtualTimeLoop": "clock",
    "now_ms": "clock",
    "run_virtual": "clock",
    "PathExhausted": "venue_config",
    "SimConfig": "venue_config",
    "SimExchange": "exchange",
    "SyntheticParams": "venue_config",
    "FaultCounters": "faults",
    "FaultyStream": "faults",
    "StreamFaults": "faults",
    "Balance": "values",
    "SimCore": "matching",
    "SimEvent": "values",
    "SimMarketSpec": "values",
    "SimOrder": "values",
    "SimOrderError": "errors",
    "SimTrade": "values",
    "CsvCandlesPath": "prices",
    "CsvTradesPath": "prices",
    "SyntheticPath": "prices",
    "Tick": "prices",
}

__all__ = [
    "Balance",
    "CsvCandlesPath",
    "CsvTradesPath",
    "FaultCounters",
    "FaultyStream",
    "PathExhausted",
    "SimConfig",
    "SimCore",
    "SimEvent",
    "SimExchange",
    "SimMarketSpec",
    "SimOrder",
    "SimOrderError",
    "SimTrade",
    "StreamFaults",
    "SyntheticParams",
    "SyntheticPath",
    "Tick",
    "VirtualTimeLoop",
    "now_ms",
    "run_virtual",
]

if TYPE_CHECKING:
    from gridledger.exchange.sim.clock import VirtualTimeLoop, now_ms, run_virtual
    from gridledger.exchange.sim.errors import SimOrderError
    from gridledger.exchange.sim.exchange import SimExchange
    from gridledger.exchange.sim.faults import FaultCounters, FaultyStream, StreamFaults
    from gridledger.exchange.sim.matching import SimCore
    from gridledger.exchange.sim.prices import CsvCandlesPath, CsvTradesPath, SyntheticPath, Tick
    from gridledger.exchange.sim.values import Balance, SimEvent, SimMarketSpec, SimOrder, SimTrade
    from gridledger.exchange.sim.venue_config import PathExhausted, SimConfig, SyntheticParams


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
