"""Typed identifiers: three kinds of id that are all strings on the wire.

``NewType`` costs nothing at run time (the value stays a plain ``str``), but lets the type
checker tell a client order id (ours, rule R7) from the venue's order id and from a trade id
(part of a fill's identity, R2), which are easy to swap in a positional call.
"""

from __future__ import annotations

from typing import NewType

ClientOrderId = NewType("ClientOrderId", str)  # ours: encodes grid, level, side, role, generation
ExchangeOrderId = NewType("ExchangeOrderId", str)  # the venue's key for an order
TradeId = NewType("TradeId", str)  # the venue's id of one fill


def client_order_id(value: str | None) -> ClientOrderId | None:
    """``value`` typed as a client order id (``None`` stays ``None``): wire form to domain."""
    return None if value is None else ClientOrderId(value)


def exchange_order_id(value: str | None) -> ExchangeOrderId | None:
    """``value`` typed as an exchange order id (``None`` stays ``None``): wire form to domain."""
    return None if value is None else ExchangeOrderId(value)
