"""A simulated Binance-like spot exchange for paper trading and deterministic tests.

- :mod:`.clock`: :class:`VirtualTimeLoop`, :func:`run_virtual`, :func:`now_ms`.
- :mod:`.prices`: :class:`Tick` and the price paths.
- :mod:`.matching`: :class:`SimCore`, the synchronous ground truth.
- :mod:`.binance_format`: Binance spot wire formats (stream events and REST JSON).
- :mod:`.faults`: private-stream fault injection and fault counters.
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
    "PathExhausted": "exchange",
    "SimConfig": "exchange",
    "SimExchange": "exchange",
    "SyntheticParams": "exchange",
    "FaultCounters": "faults",
    "FaultyStream": "faults",
    "StreamFaults": "faults",
    "Balance": "matching",
    "SimCore": "matching",
    "SimEvent": "matching",
    "SimMarketSpec": "matching",
    "SimOrder": "matching",
    "SimOrderError": "matching",
    "SimTrade": "matching",
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
    from gridledger.exchange.sim.exchange import PathExhausted, SimConfig, SimExchange, SyntheticParams
    from gridledger.exchange.sim.faults import FaultCounters, FaultyStream, StreamFaults
    from gridledger.exchange.sim.matching import (
        Balance,
        SimCore,
        SimEvent,
        SimMarketSpec,
        SimOrder,
        SimOrderError,
        SimTrade,
    )
    from gridledger.exchange.sim.prices import CsvCandlesPath, CsvTradesPath, SyntheticPath, Tick


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
