"""Binance USDⓈ-M futures wire formats, rendered from the simulated perpetual's state.

Every function returns the JSON document Binance's ``fapi`` sends (keys and key order as in
the published USDⓈ-M docs: "New Order", "Query Order", "Current All Open Orders",
"Account Trade List", "Position Information V3", "Account Information V3", "Futures Account
Balance V3", "Get Income History", "Change Initial Leverage", "Change Margin Type", "Change
Position Mode", "Symbol Configuration", "Notional and Leverage Brackets", "Mark Price",
"Exchange Information", "24hr Ticker"; user data stream: ``ORDER_TRADE_UPDATE``,
``TRADE_LITE``, ``ACCOUNT_UPDATE``). The simulated exchange parses them with ccxt's
``binanceusdm`` parsers; a local HTTP/WebSocket server can send them as they are.

This module is the one import path for them all; each family is rendered by its own module:
:mod:`.usdm_order_format` (REST orders and trades), :mod:`.usdm_stream_format` (user data
stream events), :mod:`.usdm_account_format` (REST account, positions, settings),
:mod:`.usdm_market_format` (REST market data), from the figures in :mod:`.usdm_views`
printed as :mod:`.usdm_text` prints numbers.

Conventions: numbers are strings, ids JSON integers, times epoch milliseconds. Quantities
and prices are rendered exactly (``plain``); an average price that is not a finite decimal
is rounded to 8 decimals (Binance rounds it too); balances and PnL have 8 decimals.
Commission fields ``n``/``N`` are left out of an ``ORDER_TRADE_UPDATE`` that carries no
trade ("not pushed when no commission").
"""

from __future__ import annotations

from gridledger.exchange.sim.binance_format import error_body
from gridledger.exchange.sim.usdm_account_format import (
    account_v3,
    balance_v3,
    income_row,
    leverage_bracket,
    leverage_response,
    position_mode,
    position_risk_v2,
    position_risk_v3,
    success,
    symbol_config,
)
from gridledger.exchange.sim.usdm_market_format import exchange_info, exchange_info_symbol, premium_index, ticker_24hr
from gridledger.exchange.sim.usdm_order_format import open_order_row, order_query, order_response, user_trade_row
from gridledger.exchange.sim.usdm_stream_format import account_update, order_trade_update, trade_lite
from gridledger.exchange.sim.usdm_text import average_price, plain
from gridledger.exchange.sim.usdm_views import AccountView, PositionView

__all__ = [
    "AccountView",
    "PositionView",
    "account_update",
    "account_v3",
    "average_price",
    "balance_v3",
    "error_body",
    "exchange_info",
    "exchange_info_symbol",
    "income_row",
    "leverage_bracket",
    "leverage_response",
    "open_order_row",
    "order_query",
    "order_response",
    "order_trade_update",
    "plain",
    "position_mode",
    "position_risk_v2",
    "position_risk_v3",
    "premium_index",
    "success",
    "symbol_config",
    "ticker_24hr",
    "trade_lite",
    "user_trade_row",
]
