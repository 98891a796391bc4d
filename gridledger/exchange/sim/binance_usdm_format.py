"""Binance USDⓈ-M futures wire formats, rendered from the simulated perpetual's state.

Every function returns the JSON document Binance's ``fapi`` sends (keys and key order as in
the published USDⓈ-M docs: "New Order", "Query Order", "Current All Open Orders",
"Account Trade List", "Position Information V3", "Account Information V3", "Futures Account
Balance V3", "Get Income History", "Change Initial Leverage", "Change Margin Type", "Change
Position Mode", "Symbol Configuration", "Notional and Leverage Brackets", "Mark Price",
"Exchange Information", "24hr Ticker"; user data stream: ``ORDER_TRADE_UPDATE``,
``TRADE_LITE``, ``ACCOUNT_UPDATE``). The simulated exchange parses them with ccxt's
``binanceusdm`` parsers; a local HTTP/WebSocket server can send them as they are.

Conventions: numbers are strings, ids JSON integers, times epoch milliseconds. Quantities
and prices are rendered exactly (``plain``); an average price that is not a finite decimal
is rounded to 8 decimals (Binance rounds it too); balances and PnL have 8 decimals.
Commission fields ``n``/``N`` are left out of an ``ORDER_TRADE_UPDATE`` that carries no
trade ("not pushed when no commission").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from gridledger.exchange.sim.binance_format import error_body, fmt8
from gridledger.exchange.sim.perp_margin import to_decimal8
from gridledger.exchange.sim.perp_values import FundingPayment, PerpMarketSpec
from gridledger.exchange.sim.values import SimOrder, SimTrade, TickerStats

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


def plain(value: Decimal) -> str:
    """A quantity or price as Binance prints it: fixed point, no exponent, no trailing noise."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def average_price(order: SimOrder) -> str:
    """``avgPrice`` / ``ap``: cost / filled, exact when that is a finite decimal."""
    if not order.filled:
        return "0"
    ratio = Fraction(order.cost) / Fraction(order.filled)
    den = ratio.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    if den == 1:
        return plain(Decimal(ratio.numerator) / Decimal(ratio.denominator))
    return fmt8(to_decimal8(ratio))


def _tif(order: SimOrder) -> str:
    return "GTX" if order.post_only else "GTC"


def _type(order: SimOrder) -> str:
    return "MARKET" if order.type == "market" else "LIMIT"


def _price(order: SimOrder) -> str:
    return plain(order.price) if order.price is not None else "0"


# --- REST: orders and trades -----------------------------------------------------------------


def order_response(order: SimOrder, *, reduce_only: bool) -> dict[str, Any]:
    """``POST /fapi/v1/order`` and ``DELETE /fapi/v1/order`` response (RESULT type)."""
    return {
        "clientOrderId": order.client_order_id,
        "cumQty": plain(order.filled),
        "cumQuote": plain(order.cost),
        "executedQty": plain(order.filled),
        "orderId": order.order_id,
        "avgPrice": average_price(order),
        "origQty": plain(order.amount),
        "price": _price(order),
        "reduceOnly": reduce_only,
        "side": order.side.value.upper(),
        "positionSide": "BOTH",
        "status": order.status.value,
        "stopPrice": "0",
        "closePosition": False,
        "symbol": order.symbol,
        "timeInForce": _tif(order),
        "type": _type(order),
        "origType": _type(order),
        "updateTime": order.updated_ms,
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
    }


def order_query(order: SimOrder, *, reduce_only: bool) -> dict[str, Any]:
    """``GET /fapi/v1/order`` response (also a ``GET /fapi/v1/openOrders`` / ``allOrders`` row)."""
    return {
        "avgPrice": average_price(order),
        "clientOrderId": order.client_order_id,
        "cumQuote": plain(order.cost),
        "executedQty": plain(order.filled),
        "orderId": order.order_id,
        "origQty": plain(order.amount),
        "origType": _type(order),
        "price": _price(order),
        "reduceOnly": reduce_only,
        "side": order.side.value.upper(),
        "positionSide": "BOTH",
        "status": order.status.value,
        "stopPrice": "0",
        "closePosition": False,
        "symbol": order.symbol,
        "time": order.created_ms,
        "timeInForce": _tif(order),
        "type": _type(order),
        "updateTime": order.updated_ms,
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
    }


open_order_row = order_query


def user_trade_row(trade: SimTrade, realized_pnl: Decimal) -> dict[str, Any]:
    """One row of ``GET /fapi/v1/userTrades``; ``commission`` keeps its sign (negative: a rebate)."""
    return {
        "buyer": trade.side.value == "buy",
        "commission": fmt8(trade.fee),
        "commissionAsset": trade.fee_asset,
        "id": trade.trade_id,
        "maker": trade.is_maker,
        "orderId": trade.order_id,
        "price": plain(trade.price),
        "qty": plain(trade.amount),
        "quoteQty": plain(trade.quote_qty),
        "realizedPnl": fmt8(realized_pnl),
        "side": trade.side.value.upper(),
        "positionSide": "BOTH",
        "symbol": trade.symbol,
        "time": trade.ts_ms,
    }


# --- user data stream ------------------------------------------------------------------------


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
        "o": _type(order),
        "f": "IOC" if exec_type == "CALCULATED" else _tif(order),
        "q": plain(order.amount),
        "p": _price(order),
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
            "ot": _type(order),
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
        "p": _price(order),
        "m": trade.is_maker,
        "c": order.client_order_id,
        "S": trade.side.value.upper(),
        "L": plain(trade.price),
        "l": plain(trade.amount),
        "t": trade.trade_id,
        "i": order.order_id,
    }


@dataclass(frozen=True, slots=True)
class PositionView:
    """The position figures every position payload is rendered from (computed by the core)."""

    symbol: str  # the venue id, BTCUSDT
    amount: Decimal  # signed: negative is short
    entry: Fraction
    mark: Decimal
    unrealized: Fraction
    liquidation: Decimal
    isolated_margin: Decimal  # 0 in cross mode
    isolated_wallet: Decimal
    initial_margin: Fraction
    position_margin: Fraction
    order_margin: Fraction
    maintenance: Decimal
    leverage: int
    margin_mode: str  # cross | isolated
    realized_total: Fraction  # accumulated realized PnL (ACCOUNT_UPDATE "cr")
    bids_notional: Decimal
    asks_notional: Decimal
    update_ms: int


@dataclass(frozen=True, slots=True)
class AccountView:
    """The account's settle-asset figures (one asset: the market's settle coin)."""

    asset: str
    wallet: Fraction
    cross_wallet: Fraction
    unrealized: Fraction
    margin_balance: Fraction
    initial_margin: Fraction
    position_margin: Fraction
    order_margin: Fraction
    maintenance: Decimal
    available: Fraction
    update_ms: int


def _d8(value: Fraction | Decimal) -> str:
    return fmt8(to_decimal8(value))


def _entry(p: PositionView) -> str:
    return plain(to_decimal8(p.entry).normalize()) if p.amount else "0.0"


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
                    "wb": _d8(account.wallet),
                    "cw": _d8(account.cross_wallet),
                    "bc": fmt8(balance_change),
                }
            ],
            "P": [
                {
                    "s": p.symbol,
                    "pa": plain(p.amount),
                    "ep": _entry(p),
                    "bep": _entry(p),
                    "cr": _d8(p.realized_total),
                    "up": _d8(p.unrealized),
                    "mt": p.margin_mode,
                    "iw": fmt8(p.isolated_wallet),
                    "ps": "BOTH",
                }
                for p in positions
            ],
        },
    }


# --- REST: account, positions, settings ------------------------------------------------------


def position_risk_v3(p: PositionView) -> dict[str, Any]:
    """One row of ``GET /fapi/v3/positionRisk`` (what ccxt's fetch_positions reads)."""
    return {
        "symbol": p.symbol,
        "positionSide": "BOTH",
        "positionAmt": plain(p.amount),
        "entryPrice": _entry(p),
        "breakEvenPrice": _entry(p),
        "markPrice": fmt8(p.mark),
        "unRealizedProfit": _d8(p.unrealized),
        "liquidationPrice": plain(p.liquidation) if p.liquidation else "0",
        "isolatedMargin": fmt8(p.isolated_margin),
        "notional": fmt8(p.amount * p.mark),
        "marginAsset": "USDT",
        "isolatedWallet": fmt8(p.isolated_wallet),
        "initialMargin": _d8(p.initial_margin),
        "maintMargin": fmt8(p.maintenance),
        "positionInitialMargin": _d8(p.position_margin),
        "openOrderInitialMargin": _d8(p.order_margin),
        "adl": 0,
        "bidNotional": plain(p.bids_notional),
        "askNotional": plain(p.asks_notional),
        "updateTime": p.update_ms,
    }


def position_risk_v2(p: PositionView, max_notional: str = "1000000000") -> dict[str, Any]:
    """One row of ``GET /fapi/v2/positionRisk`` (has leverage and margin type, unlike v3)."""
    return {
        "entryPrice": _entry(p),
        "breakEvenPrice": _entry(p),
        "marginType": p.margin_mode,
        "isAutoAddMargin": "false",
        "isolatedMargin": fmt8(p.isolated_margin),
        "leverage": str(p.leverage),
        "liquidationPrice": plain(p.liquidation) if p.liquidation else "0",
        "markPrice": fmt8(p.mark),
        "maxNotionalValue": max_notional,
        "positionAmt": plain(p.amount),
        "notional": fmt8(p.amount * p.mark),
        "isolatedWallet": fmt8(p.isolated_wallet),
        "symbol": p.symbol,
        "unRealizedProfit": _d8(p.unrealized),
        "positionSide": "BOTH",
        "updateTime": p.update_ms,
    }


def _asset_row(a: AccountView) -> dict[str, Any]:
    return {
        "asset": a.asset,
        "walletBalance": _d8(a.wallet),
        "unrealizedProfit": _d8(a.unrealized),
        "marginBalance": _d8(a.margin_balance),
        "maintMargin": fmt8(a.maintenance),
        "initialMargin": _d8(a.initial_margin),
        "positionInitialMargin": _d8(a.position_margin),
        "openOrderInitialMargin": _d8(a.order_margin),
        "crossWalletBalance": _d8(a.cross_wallet),
        "crossUnPnl": _d8(a.unrealized),
        "availableBalance": _d8(a.available),
        "maxWithdrawAmount": _d8(max(a.available, Fraction(0))),
        "updateTime": a.update_ms,
    }


def account_v3(a: AccountView, positions: Sequence[PositionView]) -> dict[str, Any]:
    """``GET /fapi/v3/account`` (what ccxt's fetch_balance reads for a linear market)."""
    return {
        "totalInitialMargin": _d8(a.initial_margin),
        "totalMaintMargin": fmt8(a.maintenance),
        "totalWalletBalance": _d8(a.wallet),
        "totalUnrealizedProfit": _d8(a.unrealized),
        "totalMarginBalance": _d8(a.margin_balance),
        "totalPositionInitialMargin": _d8(a.position_margin),
        "totalOpenOrderInitialMargin": _d8(a.order_margin),
        "totalCrossWalletBalance": _d8(a.cross_wallet),
        "totalCrossUnPnl": _d8(a.unrealized),
        "availableBalance": _d8(a.available),
        "maxWithdrawAmount": _d8(max(a.available, Fraction(0))),
        "assets": [_asset_row(a)],
        "positions": [
            {
                "symbol": p.symbol,
                "positionSide": "BOTH",
                "positionAmt": plain(p.amount),
                "unrealizedProfit": _d8(p.unrealized),
                "isolatedMargin": fmt8(p.isolated_margin),
                "notional": fmt8(p.amount * p.mark),
                "isolatedWallet": fmt8(p.isolated_wallet),
                "initialMargin": _d8(p.initial_margin),
                "maintMargin": fmt8(p.maintenance),
                "updateTime": p.update_ms,
            }
            for p in positions
            if p.amount
        ],
    }


def balance_v3(a: AccountView) -> list[dict[str, Any]]:
    """``GET /fapi/v3/balance``."""
    return [
        {
            "accountAlias": "SgsR",
            "asset": a.asset,
            "balance": _d8(a.wallet),
            "crossWalletBalance": _d8(a.cross_wallet),
            "crossUnPnl": _d8(a.unrealized),
            "availableBalance": _d8(a.available),
            "maxWithdrawAmount": _d8(max(a.available, Fraction(0))),
            "marginAvailable": True,
            "updateTime": a.update_ms,
        }
    ]


def income_row(venue_id: str, asset: str, payment: FundingPayment) -> dict[str, Any]:
    """One ``GET /fapi/v1/income`` row of type ``FUNDING_FEE`` (``tranId``: the payment's id)."""
    return {
        "symbol": venue_id,
        "incomeType": "FUNDING_FEE",
        "income": fmt8(payment.amount),
        "asset": asset,
        "info": "FUNDING_FEE",
        "time": payment.ts_ms,
        "tranId": payment.tran_id,
        "tradeId": "",
    }


def leverage_response(venue_id: str, leverage: int) -> dict[str, Any]:
    """``POST /fapi/v1/leverage`` response."""
    return {"leverage": leverage, "maxNotionalValue": "1000000000", "symbol": venue_id}


def success() -> dict[str, Any]:
    """``POST /fapi/v1/marginType`` and ``POST /fapi/v1/positionSide/dual`` success body."""
    return {"code": 200, "msg": "success"}


def position_mode(dual_side: bool) -> dict[str, Any]:
    """``GET /fapi/v1/positionSide/dual``."""
    return {"dualSidePosition": dual_side}


def symbol_config(venue_id: str, margin_mode: str, leverage: int) -> list[dict[str, Any]]:
    """``GET /fapi/v1/symbolConfig`` (what ccxt's fetch_margin_mode / fetch_leverages read)."""
    return [
        {
            "symbol": venue_id,
            "marginType": "CROSSED" if margin_mode == "cross" else "ISOLATED",
            "isAutoAddMargin": "false",
            "leverage": leverage,
            "maxNotionalValue": "1000000000",
        }
    ]


def leverage_bracket(spec: PerpMarketSpec) -> list[dict[str, Any]]:
    """``GET /fapi/v1/leverageBracket``: one bracket (the simulator's single maintenance rate)."""
    return [
        {
            "symbol": spec.venue_id,
            "notionalCoef": 1.0,
            "brackets": [
                {
                    "bracket": 1,
                    "initialLeverage": 125,
                    "notionalCap": 1_000_000_000,
                    "notionalFloor": 0,
                    "maintMarginRatio": float(spec.maintenance_rate),
                    "cum": 0.0,
                }
            ],
        }
    ]


def premium_index(
    spec: PerpMarketSpec, mark: Decimal, rate: Decimal, next_funding_ms: int, now_ms: int
) -> dict[str, Any]:
    """``GET /fapi/v1/premiumIndex`` (mark price and funding) for one symbol."""
    return {
        "symbol": spec.venue_id,
        "markPrice": fmt8(mark),
        "indexPrice": fmt8(mark),
        "estimatedSettlePrice": fmt8(mark),
        "lastFundingRate": fmt8(rate),
        "interestRate": "0.00010000",
        "nextFundingTime": next_funding_ms,
        "time": now_ms,
    }


def ticker_24hr(stats: TickerStats) -> dict[str, Any]:
    """``GET /fapi/v1/ticker/24hr`` for one symbol (no bid/ask fields on USDⓈ-M)."""
    change = stats.last - stats.open
    vwap = stats.quote_volume / stats.volume if stats.volume else stats.last
    percent = "0.000" if not stats.open else format((change * 100 / stats.open).quantize(Decimal("0.001")), "f")
    return {
        "symbol": stats.symbol,
        "priceChange": plain(change),
        "priceChangePercent": percent,
        "weightedAvgPrice": plain(to_decimal8(vwap)),
        "lastPrice": plain(stats.last),
        "lastQty": plain(stats.last_qty),
        "openPrice": plain(stats.open),
        "highPrice": plain(stats.high),
        "lowPrice": plain(stats.low),
        "volume": plain(stats.volume),
        "quoteVolume": plain(to_decimal8(stats.quote_volume)),
        "openTime": stats.open_time,
        "closeTime": stats.close_time,
        "firstId": stats.first_id,
        "lastId": stats.last_id,
        "count": stats.count,
    }


def _places(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 8


def exchange_info_symbol(spec: PerpMarketSpec) -> dict[str, Any]:
    """One entry of ``GET /fapi/v1/exchangeInfo`` ``symbols`` (a perpetual contract)."""
    return {
        "symbol": spec.venue_id,
        "pair": spec.venue_id,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": plain(spec.maintenance_rate * 100),
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": spec.quote,
        "marginAsset": spec.settle,
        "pricePrecision": _places(spec.price_step),
        "quantityPrecision": _places(spec.amount_step),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": plain(spec.price_step),
                "maxPrice": "4529764",
                "tickSize": plain(spec.price_step),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": plain(spec.min_amount or spec.amount_step),
                "maxQty": "1000",
                "stepSize": plain(spec.amount_step),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": plain(spec.min_amount or spec.amount_step),
                "maxQty": "120",
                "stepSize": plain(spec.amount_step),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": plain(spec.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def exchange_info(spec: PerpMarketSpec, server_ms: int) -> dict[str, Any]:
    """``GET /fapi/v1/exchangeInfo`` for the one simulated symbol."""
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [],
        "exchangeFilters": [],
        "assets": [{"asset": spec.settle, "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [exchange_info_symbol(spec)],
    }
