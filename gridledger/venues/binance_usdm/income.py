"""Binance USDⓈ-M funding: income history rows and the ``ACCOUNT_UPDATE`` that announces one.

GET /fapi/v1/income rows (ccxt ``fetch_funding_history`` returns them in ``info``)::

    {"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE", "income": "-0.01234567",
     "asset": "USDT", "time": 1621584000000, "info": "FUNDING_FEE",
     "tranId": 4480321991774044580, "tradeId": ""}

``tranId`` is the payment's own id, stable across reads: it is the identity the funding
book dedupes on. The stream's ``ACCOUNT_UPDATE`` with reason (``a.m``) ``FUNDING_FEE``
carries only the new wallet balances and the event times, no id that the income history
repeats, so it is never recorded itself: it only says "read the income history now".
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError, to_decimal
from gridledger.venues.common import is_map, opt_ts, req_id, req_str, show

__all__ = ["FundingRow", "funding_from_ccxt", "income_row", "is_funding_update"]


class FundingRow(NamedTuple):
    """One funding payment as the venue reports it (the engine makes it a ledger
    ``FundingPayment``: venues import only the ledger's evidence types)."""

    payment_id: str
    symbol: str
    asset: str
    amount: Decimal  # signed: positive received, negative paid
    timestamp: int


_IN = "binance-usdm income field "
FUNDING_FEE = "FUNDING_FEE"


def income_row(row: Mapping[str, Any], instrument: Instrument) -> FundingRow | None:
    """One income row as a funding payment; None for other income types (commission, PnL...).

    Malformed rows raise ``InputError`` naming the field."""
    if not is_map(row):
        raise InputError(f"binance-usdm income row must be a JSON object, got {show(row)}")
    kind = req_str(row.get("incomeType"), _IN + "incomeType")
    if kind != FUNDING_FEE:
        return None
    ts = opt_ts(row.get("time"), _IN + "time")
    if ts is None:
        raise InputError(f"{_IN}time is missing")
    return FundingRow(
        payment_id=req_id(row.get("tranId"), _IN + "tranId"),
        symbol=instrument.unify(req_str(row.get("symbol"), _IN + "symbol")),
        asset=req_str(row.get("asset"), _IN + "asset").upper(),
        amount=to_decimal(row.get("income"), _IN + "income", negative_ok=True),
        timestamp=ts,
    )


_CC = "funding history field "


def funding_from_ccxt(item: Mapping[str, Any], instrument: Instrument) -> FundingRow | None:
    """A ccxt funding-history structure: the raw income row in ``info`` when it has one
    (Binance), else the unified fields (``id``, ``symbol``, ``code``, ``amount``, ``timestamp``)."""
    if not is_map(item):
        raise InputError(f"funding history entry must be an object, got {show(item)}")
    info = item.get("info")
    if isinstance(info, Mapping) and "incomeType" in info:
        return income_row(info, instrument)
    ts = opt_ts(item.get("timestamp"), _CC + "timestamp")
    if ts is None:
        raise InputError(f"{_CC}timestamp is missing")
    return FundingRow(
        payment_id=req_id(item.get("id"), _CC + "id"),
        symbol=instrument.unify(req_str(item.get("symbol"), _CC + "symbol")),
        asset=req_str(item.get("code"), _CC + "code").upper(),
        amount=to_decimal(item.get("amount"), _CC + "amount", negative_ok=True),
        timestamp=ts,
    )


def is_funding_update(message: Any) -> bool:
    """An ``ACCOUNT_UPDATE`` whose reason is a funding fee (``a.m == "FUNDING_FEE"``)."""
    if not is_map(message) or message.get("e") != "ACCOUNT_UPDATE":
        return False
    data = message.get("a")
    return is_map(data) and data.get("m") == FUNDING_FEE
