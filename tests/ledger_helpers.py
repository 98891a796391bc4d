"""Builders for ledger tests: a small grid and terse evidence constructors."""

from __future__ import annotations

from decimal import Decimal as D

from gridledger.domain.coid import ClientId, encode
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.evidence import OrderEvidence, TradeEvidence
from gridledger.ledger.ledger import Ledger

GRID = GridSpec("t1", Instrument.from_symbol("BTC/USDT"), D("100"), D("10"))
SYM = "BTC/USDT"
NEW, PART, FILLED = OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED
CANCELED, EXPIRED, REJECTED = OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED


def cid(level: int, side: Side = Side.BUY, role: Role = Role.OPEN, gen: int = 0, grid: str = "t1") -> str:
    return encode(ClientId(grid, level, side, role, gen))


def snap(
    client_id,
    order_id,
    status,
    filled,
    cost=None,
    *,
    side=Side.BUY,
    amount="1",
    price="90",
    fees=None,
    event=None,
    ts=None,
    symbol=SYM,
) -> OrderEvidence:
    return OrderEvidence(
        symbol=symbol,
        order_id=order_id,
        client_id=client_id,
        status=status,
        side=side,
        amount=D(amount) if amount is not None else None,
        price=D(price) if price is not None else None,
        filled=D(filled) if filled is not None else None,
        cost=D(cost) if cost is not None else (D(filled) * D(price) if filled is not None and price else None),
        fees=tuple((a, D(v)) for a, v in fees) if fees is not None else None,
        timestamp=ts,
        event_id=event,
    )


def trade(client_id, order_id, trade_id, amount, price="90", *, side=Side.BUY, fees=(), symbol=SYM) -> TradeEvidence:
    return TradeEvidence(
        symbol=symbol,
        order_id=order_id,
        client_id=client_id,
        trade_id=trade_id,
        side=side,
        amount=D(amount),
        price=D(price),
        cost=D(amount) * D(price),
        fees=None if fees is None else tuple((a, D(v)) for a, v in fees),
    )


def ledger() -> Ledger:
    return Ledger(GRID)


def state(led: Ledger, level: int):
    return led.slots[level].state
