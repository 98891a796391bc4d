"""Binance USDⓈ-M REST account, position and settings payloads: "Position Information V3",
"Account Information V3", "Futures Account Balance V3", "Get Income History", "Change
Initial Leverage", "Change Margin Type", "Change Position Mode", "Symbol Configuration",
"Notional and Leverage Brackets".
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from gridledger.exchange.sim.binance_format import fmt8
from gridledger.exchange.sim.perp_values import FundingPayment, PerpMarketSpec
from gridledger.exchange.sim.usdm_text import d8, entry_text, plain
from gridledger.exchange.sim.usdm_views import AccountView, PositionView

__all__ = [
    "account_v3",
    "balance_v3",
    "income_row",
    "leverage_bracket",
    "leverage_response",
    "position_mode",
    "position_risk_v2",
    "position_risk_v3",
    "success",
    "symbol_config",
]


def position_risk_v3(p: PositionView) -> dict[str, Any]:
    """One row of ``GET /fapi/v3/positionRisk`` (what ccxt's fetch_positions reads)."""
    return {
        "symbol": p.symbol,
        "positionSide": "BOTH",
        "positionAmt": plain(p.amount),
        "entryPrice": entry_text(p),
        "breakEvenPrice": entry_text(p),
        "markPrice": fmt8(p.mark),
        "unRealizedProfit": d8(p.unrealized),
        "liquidationPrice": plain(p.liquidation) if p.liquidation else "0",
        "isolatedMargin": fmt8(p.isolated_margin),
        "notional": fmt8(p.amount * p.mark),
        "marginAsset": "USDT",
        "isolatedWallet": fmt8(p.isolated_wallet),
        "initialMargin": d8(p.initial_margin),
        "maintMargin": fmt8(p.maintenance),
        "positionInitialMargin": d8(p.position_margin),
        "openOrderInitialMargin": d8(p.order_margin),
        "adl": 0,
        "bidNotional": plain(p.bids_notional),
        "askNotional": plain(p.asks_notional),
        "updateTime": p.update_ms,
    }


def position_risk_v2(p: PositionView, max_notional: str = "1000000000") -> dict[str, Any]:
    """One row of ``GET /fapi/v2/positionRisk`` (has leverage and margin type, unlike v3)."""
    return {
        "entryPrice": entry_text(p),
        "breakEvenPrice": entry_text(p),
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
        "unRealizedProfit": d8(p.unrealized),
        "positionSide": "BOTH",
        "updateTime": p.update_ms,
    }


def _asset_row(a: AccountView) -> dict[str, Any]:
    return {
        "asset": a.asset,
        "walletBalance": d8(a.wallet),
        "unrealizedProfit": d8(a.unrealized),
        "marginBalance": d8(a.margin_balance),
        "maintMargin": fmt8(a.maintenance),
        "initialMargin": d8(a.initial_margin),
        "positionInitialMargin": d8(a.position_margin),
        "openOrderInitialMargin": d8(a.order_margin),
        "crossWalletBalance": d8(a.cross_wallet),
        "crossUnPnl": d8(a.unrealized),
        "availableBalance": d8(a.available),
        "maxWithdrawAmount": d8(max(a.available, Fraction(0))),
        "updateTime": a.update_ms,
    }


def account_v3(a: AccountView, positions: Sequence[PositionView]) -> dict[str, Any]:
    """``GET /fapi/v3/account`` (what ccxt's fetch_balance reads for a linear market)."""
    return {
        "totalInitialMargin": d8(a.initial_margin),
        "totalMaintMargin": fmt8(a.maintenance),
        "totalWalletBalance": d8(a.wallet),
        "totalUnrealizedProfit": d8(a.unrealized),
        "totalMarginBalance": d8(a.margin_balance),
        "totalPositionInitialMargin": d8(a.position_margin),
        "totalOpenOrderInitialMargin": d8(a.order_margin),
        "totalCrossWalletBalance": d8(a.cross_wallet),
        "totalCrossUnPnl": d8(a.unrealized),
        "availableBalance": d8(a.available),
        "maxWithdrawAmount": d8(max(a.available, Fraction(0))),
        "assets": [_asset_row(a)],
        "positions": [
            {
                "symbol": p.symbol,
                "positionSide": "BOTH",
                "positionAmt": plain(p.amount),
                "unrealizedProfit": d8(p.unrealized),
                "isolatedMargin": fmt8(p.isolated_margin),
                "notional": fmt8(p.amount * p.mark),
                "isolatedWallet": fmt8(p.isolated_wallet),
                "initialMargin": d8(p.initial_margin),
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
            "balance": d8(a.wallet),
            "crossWalletBalance": d8(a.cross_wallet),
            "crossUnPnl": d8(a.unrealized),
            "availableBalance": d8(a.available),
            "maxWithdrawAmount": d8(max(a.available, Fraction(0))),
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
