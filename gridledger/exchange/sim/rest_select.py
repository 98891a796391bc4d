"""Request-parameter rules both simulated venues share (spot ``myTrades``, USDⓈ-M ``userTrades``).

Binance selects account trades the same way on both APIs, so one function serves both
:class:`~gridledger.exchange.sim.exchange.SimExchange` and
:class:`~gridledger.exchange.sim.perp_exchange.PerpSimExchange`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gridledger.exchange.sim.values import SimTrade

__all__ = ["TRADES_DEFAULT_LIMIT", "TRADES_MAX_LIMIT", "client_id", "select_trades", "trades_count"]

TRADES_DEFAULT_LIMIT = 500
TRADES_MAX_LIMIT = 1000


def trades_count(limit: int | None) -> int:
    """How many trades one request returns: ``limit``, 500 by default, at most 1000."""
    return min(limit or TRADES_DEFAULT_LIMIT, TRADES_MAX_LIMIT)


def select_trades(
    rows: Sequence[SimTrade],
    order_id: Any,
    from_id: Any,
    since: int | None,
    until: Any,
    count: int,
) -> list[SimTrade]:
    """Binance's trade selection, oldest first: ``order_id`` restricts to one order; then
    ``from_id`` (trade id >= fromId), else a ``since``/``until`` time range, else the most
    recent ``count``."""
    picked = rows
    if order_id is not None:
        picked = [t for t in picked if t.order_id == int(order_id)]
    if from_id is not None:
        return [t for t in picked if t.trade_id >= int(from_id)][:count]
    if since is not None or until is not None:
        return [t for t in picked if (since is None or t.ts_ms >= since) and (until is None or t.ts_ms <= int(until))][
            :count
        ]
    return list(picked[-count:])


def client_id(params: Mapping[str, Any], *keys: str) -> str | None:
    """The first non-empty client order id among ``keys`` in ``params``."""
    for key in keys:
        value = params.get(key)
        if value is not None and value != "":
            return str(value)
    return None
