"""One fill of one order written in every raw venue format (for the number-hardening tests).

``fill_message(fmt, ...)`` returns a decoded JSON message of format ``fmt`` that carries one
trade of ``qty`` at ``price`` (strings, put into the message verbatim so that hostile text
reaches the parser unchanged), and ``FIELDS[fmt]`` names the message field that holds the
quantity, the price and the timestamp (the error must name it).
"""

from __future__ import annotations

from typing import Any

from gridledger.domain.instrument import Instrument

SPOT = Instrument.from_symbol("BTC/USDT")
LINEAR = Instrument.from_symbol("BTC/USDT:USDT")
FORMATS = ("ccxt", "binance-spot", "binance-usdm", "okx", "bybit")
INSTRUMENT = {"ccxt": SPOT, "binance-spot": SPOT, "binance-usdm": LINEAR, "okx": SPOT, "bybit": SPOT}

# Field labels as the parsers spell them in errors (regexes: the quantity is in several fields
# of an order push, and whichever is read first is named).
FIELDS: dict[str, dict[str, str]] = {
    "ccxt": {"qty": "amount", "price": "price", "ts": "timestamp"},
    "binance-spot": {"qty": "field [lzq] ", "price": "field [Lp] ", "ts": "field T "},
    "binance-usdm": {"qty": r"field o\.[lzq] ", "price": r"field o\.(L|p|ap) ", "ts": r"field o\.T "},
    "okx": {"qty": "(sz|accFillSz|fillSz) ", "price": "(fillPx|px|avgPx) ", "ts": "(fillTime|uTime)"},
    "bybit": {"qty": "execQty", "price": "execPrice", "ts": "execTime"},
}


def fill_message(
    fmt: str,
    *,
    client_id: str,
    order_id: str,
    trade_id: str,
    side: str,
    qty: Any,
    price: Any,
    fee: str = "0",
    fee_asset: str = "USDT",
    ts: Any = "1700000000000",
) -> dict[str, Any]:
    """A trade message; ``qty``/``price``/``ts`` are used verbatim (any JSON value)."""
    if fmt == "ccxt":
        return {
            "id": trade_id,
            "order": order_id,
            "clientOrderId": client_id,
            "symbol": "BTC/USDT",
            "side": side,
            "amount": qty,
            "price": price,
            "takerOrMaker": "maker",
            "fee": {"currency": fee_asset, "cost": fee},
            "timestamp": ts,
        }
    if fmt == "binance-spot":
        return {
            "e": "executionReport",
            "E": 1700000000001,
            "s": "BTCUSDT",
            "c": client_id,
            "S": side.upper(),
            "o": "LIMIT",
            "f": "GTC",
            "q": qty,
            "p": price,
            "x": "TRADE",
            "X": "PARTIALLY_FILLED",
            "i": int(order_id),
            "l": qty,
            "z": qty,
            "L": price,
            "n": fee,
            "N": fee_asset,
            "T": ts,
            "t": int(trade_id),
            "I": int(trade_id) + 1000,
            "m": True,
            "C": "",
        }
    if fmt == "binance-usdm":
        return {
            "e": "ORDER_TRADE_UPDATE",
            "E": 1700000000001,
            "T": ts,
            "o": {
                "s": "BTCUSDT",
                "c": client_id,
                "S": side.upper(),
                "o": "LIMIT",
                "f": "GTC",
                "q": qty,
                "p": price,
                "ap": price,
                "x": "TRADE",
                "X": "PARTIALLY_FILLED",
                "i": int(order_id),
                "l": qty,
                "z": qty,
                "L": price,
                "N": fee_asset,
                "n": fee,
                "T": ts,
                "t": int(trade_id),
                "m": True,
            },
        }
    if fmt == "okx":
        okx_fee = fee if fee.startswith("-") or fee == "0" else "-" + fee  # OKX: negative = charged
        return {
            "arg": {"channel": "orders", "instType": "SPOT", "instId": "BTC-USDT"},
            "data": [
                {
                    "instType": "SPOT",
                    "instId": "BTC-USDT",
                    "ordId": order_id,
                    "clOrdId": client_id,
                    "side": side,
                    "ordType": "limit",
                    "px": price,
                    "sz": qty,
                    "accFillSz": qty,
                    "avgPx": price,
                    "state": "partially_filled",
                    "fee": okx_fee,
                    "feeCcy": fee_asset,
                    "fillSz": qty,
                    "fillPx": price,
                    "tradeId": trade_id,
                    "fillFee": okx_fee,
                    "fillFeeCcy": fee_asset,
                    "fillTime": ts,
                    "uTime": ts,
                }
            ],
        }
    if fmt == "bybit":
        return {
            "topic": "execution",
            "creationTime": 1700000000001,
            "data": [
                {
                    "category": "spot",
                    "symbol": "BTCUSDT",
                    "execFee": fee,
                    "execId": trade_id,
                    "execPrice": price,
                    "execQty": qty,
                    "execType": "Trade",
                    "orderId": order_id,
                    "orderLinkId": client_id,
                    "side": side.capitalize(),
                    "execTime": ts,
                    "feeCurrency": fee_asset,
                }
            ],
        }
    raise ValueError(fmt)
