"""How a Binance spot message is told (ranks: see ``gridledger.venues.detect``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.domain.numbers import InputError
from gridledger.venues.common import show
from gridledger.venues.detect import Detector

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


def _spot_event(p: Mapping[str, Any]) -> bool:
    kind = p.get("e")
    return type(kind) is str and kind in SPOT_EVENTS


def _unknown_event(p: Mapping[str, Any]) -> bool:
    # ``e`` is the event-type key of both Binance markets' user data: an event type neither
    # claimed (ranks 10) is a Binance message we do not know, never another venue's.
    if "e" in p:
        raise InputError(f"cannot tell the message format: unknown Binance event type e={show(p.get('e'))}")
    return False


def _rest_row(p: Mapping[str, Any]) -> bool:
    return "orderId" in p and ("cummulativeQuoteQty" in p or "orderListId" in p or "isBuyer" in p)


def _error_body(p: Mapping[str, Any]) -> bool:
    # {"code": -2011, "msg": ...}: the parser raises with the venue's message.
    return type(p.get("code")) is int and "msg" in p


DETECTORS = (
    Detector(10, _spot_event),
    Detector(15, _unknown_event),
    Detector(20, lambda p: "subscriptionId" in p and "event" in p),  # WebSocket-API envelope
    Detector(50, _rest_row),
    Detector(60, lambda p: "amendedOrder" in p),  # PUT order/amend/keepPriority answer
    Detector(90, _error_body),
)
