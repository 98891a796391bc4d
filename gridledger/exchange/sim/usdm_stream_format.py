"""Binance USDⓈ-M user data stream events: ``ORDER_TRADE_UPDATE``, ``TRADE_LITE``, ``ACCOUNT_UPDATE``.

Commission fields ``n``/``N`` are left out of an ``ORDER_TRADE_UPDATE`` that carries no
trade ("not pushed when no commission").
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from gridledger.exchange.sim.binance_format import fmt8
from gridledger.exchange.sim.usdm_text import average_price, d8, entry_text, order_type, plain, price_text, tif
from gridledger.exchange.sim.usdm_views import AccountView, PositionView
from gridledger.exchange.sim.values import SimOrder, SimTrade

__all__ = ["account_update", "order_trade_update", "trade_lite"]


def order_trade_update(
    order: SimOrder,
    *,
    exec_type: str,
    event_ms: int,
    reduce_only: bool,
    trade: SimTrade | None = None,
    realized_pnl: Decimal = Decimal(0),
    bids_notional: Decimal = Decimal(0),
    asks_notional: Decimal = Decimal(0),
) -> dict[str, Any]:
    """``ORDER_TRADE_UPDATE`` for one execution of ``order`` (its state after it).

    A liquidation's order has a client id starting ``autoclose-`` and execution type
    ``CALCULATED``, as on Binance."""
    o: dict[str, Any] = {
        "s": order.symbol,
        "c": order.client_order_id,
        "S": order.side.value.upper(),
        "o": order_type(order),
        "f": "IOC" if exec_type == "CALCULATED" else tif(order),
        "q": plain(order.amount),
        "p": price_text(order),
        "ap": average_price(order),
        "sp": "0",
        "x": exec_type,
        "X": order.status.value,
        "i": order.order_id,
        "l": plain(trade.amount) if trade else "0",
        "z": plain(order.filled),
        "L": plain(trade.price) if trade else "0",
    }
    if trade is not None:
        o["N"] = trade.fee_asset
        o["n"] = fmt8(trade.fee)
    o.update(
        {
            "T": event_ms,
            "t": trade.trade_id if trade else 0,
            "b": plain(bids_notional),
            "a": plain(asks_notional),
            "m": trade.is_maker if trade else False,
            "R": reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": order_type(order),
            "ps": "BOTH",
            "cp": False,
            "rp": fmt8(realized_pnl),
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
        }
    )
    return {"e": "ORDER_TRADE_UPDATE", "E": event_ms, "T": event_ms, "o": o}


def trade_lite(order: SimOrder, trade: SimTrade, event_ms: int) -> dict[str, Any]:
    """``TRADE_LITE``: the fast trade push (no fee, no order status)."""
    return {
        "e": "TRADE_LITE",
        "E": event_ms,
        "T": trade.ts_ms,
        "s": trade.symbol,
        "q": plain(order.amount),
        "p": price_text(order),
        "m": trade.is_maker,
        "c": order.client_order_id,
        "S": trade.side.value.upper(),
        "L": plain(trade.price),
        "l": plain(trade.amount),
        "t": trade.trade_id,
        "i": order.order_id,
    }


def account_update(
    event_ms: int, reason: str, account: AccountView, positions: Sequence[PositionView], balance_change: Decimal
) -> dict[str, Any]:
    """``ACCOUNT_UPDATE``: the balance and position after an order, funding or liquidation.

    ``reason`` ("m"): ORDER, FUNDING_FEE, ... ``balance_change`` ("bc"): the wallet change
    that was not a realized PnL or a commission (funding, transfers)."""
    return {
        "e": "ACCOUNT_UPDATE",
        "E": event_ms,
        "T": event_ms,
        "a": {
            "m": reason,
            "B": [
                {
                    "a": account.asset,
                    "wb": d8(account.wallet),
                    "cw": d8(account.cross_wallet),
                    "bc": fmt8(balance_change),
                }
            ],
            "P": [
                {
                    "s": p.symbol,
                    "pa": plain(p.amount),
                    "ep": entry_text(p),
                    "bep": entry_text(p),
                    "cr": d8(p.realized_total),
                    "up": d8(p.unrealized),
                    "mt": p.margin_mode,
                    "iw": fmt8(p.isolated_wallet),
                    "ps": "BOTH",
                }
                for p in positions
            ],
        },
    }
