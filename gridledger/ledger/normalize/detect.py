"""Tell the format of a decoded message (``fmt="auto"``).

Heuristics on the keys each venue always sends (corpus README §2 and the corpus files):

- Binance: the WebSocket-API envelope ``{"subscriptionId", "event"}``, or an ``e`` event
  type (spot ``executionReport``/``outboundAccountPosition``/...; USDⓈ-M
  ``ORDER_TRADE_UPDATE``/``TRADE_LITE``/``ACCOUNT_UPDATE``/...). REST rows carry
  ``orderId``: spot spells ``cummulativeQuoteQty`` and has ``orderListId``/``isBuyer``,
  USDⓈ-M has ``cumQuote``/``avgPrice``/``buyer``/``realizedPnl``.
- OKX: ``arg`` (pushes), ``event`` (subscribe/login/notice/error), ``{"code", "data"}``
  (REST and WebSocket order answers); a bare data row has ``ordId`` (or, for an algo
  order, ``algoId``) + ``instId``.
- Bybit: ``topic`` (pushes), ``op`` (control answers), ``retCode`` (REST); a bare row
  has ``orderLinkId``/``orderStatus``/``execId`` next to ``orderId`` (checked before the
  USDⓈ-M keys because Bybit rows also have ``avgPrice``).
- ccxt unified: an order (``status``/``filled``/``remaining`` + ``amount``), a trade
  (``order`` + ``amount`` + ``price`` + ``takerOrMaker``/``fee``), or a wrapper
  ``{"kind": "order", "order": {...}}`` / ``{"kind": "trade", "trade": {...}}``.

A list is told by its first JSON object. Anything else → ``InputError``.
"""

from __future__ import annotations

from typing import Any, Mapping

from gridledger.domain.numbers import InputError
from gridledger.ledger.normalize._common import is_map, show

__all__ = ["detect_format"]

SPOT_EVENTS = frozenset(
    {
        "executionReport",
        "outboundAccountPosition",
        "balanceUpdate",
        "listStatus",
        "listenKeyExpired",  # both Binance markets send it; either parser skips it
        "eventStreamTerminated",
        "externalLockUpdate",
        "serverShutdown",
    }
)
USDM_EVENTS = frozenset(
    {
        "ORDER_TRADE_UPDATE",
        "TRADE_LITE",
        "ACCOUNT_UPDATE",
        "MARGIN_CALL",
        "ACCOUNT_CONFIG_UPDATE",
        "STRATEGY_UPDATE",
        "GRID_UPDATE",
        "CONDITIONAL_ORDER_TRIGGER_REJECT",
    }
)


def _detect_map(p: Mapping[str, Any]) -> str:
    if "e" in p:
        kind = p.get("e")
        if type(kind) is str:
            if kind in SPOT_EVENTS:
                return "binance-spot"
            if kind in USDM_EVENTS:
                return "binance-usdm"
        raise InputError(f"cannot tell the message format: unknown Binance event type e={show(kind)}")
    if "subscriptionId" in p and "event" in p:
        return "binance-spot"
    if "arg" in p or "event" in p:
        return "okx"
    if "code" in p and "data" in p:
        return "okx"
    if "topic" in p or "op" in p or "retCode" in p:
        return "bybit"
    if "orderId" in p:
        if "cummulativeQuoteQty" in p or "orderListId" in p or "isBuyer" in p:
            return "binance-spot"
        if "orderLinkId" in p or "orderStatus" in p or "execId" in p:
            return "bybit"
        if "cumQuote" in p or "avgPrice" in p or "buyer" in p or "realizedPnl" in p:
            return "binance-usdm"
    if "amendedOrder" in p:
        return "binance-spot"
    kind = p.get("kind")
    if (kind == "order" or kind == "trade") and kind in p:
        return "ccxt"
    if "amount" in p and ("status" in p or "filled" in p or "remaining" in p):
        return "ccxt"
    if "order" in p and "amount" in p and "price" in p and ("takerOrMaker" in p or "fee" in p):
        return "ccxt"
    if ("ordId" in p or "algoId" in p) and "instId" in p:  # algoId: an OKX algo order row
        return "okx"
    if type(p.get("code")) is int and "msg" in p:
        return "binance-spot"  # {"code": -2011, "msg": ...}: the parser raises with the msg
    raise InputError(f"cannot tell the message format of an object with keys {show(list(p)[:12], 200)}")


def detect_format(payload: Any) -> str:
    """The format name (one of ``FORMATS`` except ``auto``) of ``payload``."""
    if is_map(payload):
        return _detect_map(payload)
    if isinstance(payload, list):
        for element in payload:
            if is_map(element):
                return _detect_map(element)
        raise InputError("cannot tell the message format of a list without JSON objects")
    raise InputError(
        f"cannot tell the message format of a {type(payload).__name__} (expected a JSON object or list): {show(payload)}"
    )
