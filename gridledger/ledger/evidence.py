"""The one internal form of order evidence (ledger-semantics.md, "Evidence").

Every source (ccxt unified structures, raw venue payloads, REST answers) is parsed into
these two value types before the ledger sees it. Ids stay in their wire form (``str``) here:
the ledger types them (``domain.ids``) when it matches them to one of its records. Quantities are in base units (contracts
already multiplied by the contract size), prices in quote, fees per asset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from gridledger.domain.types import OrderStatus, Side

# Fees per asset as a sorted tuple of pairs: immutable, hashable, cheap to compare.
# Positive = paid, negative = received (a maker rebate); every parser converts to this sign
# (OKX reports the other way round). Fees are summed, never combined by a maximum (R1).
Fees = tuple[tuple[str, Decimal], ...]
NO_FEES: Fees = ()


def make_fees(items: Iterable[tuple[str, Decimal]]) -> Fees:
    """Sum fee amounts per asset; zero entries are kept out so equal fees compare equal."""
    total: dict[str, Decimal] = {}
    for asset, amount in items:
        total[asset] = total.get(asset, Decimal(0)) + amount
    return tuple(sorted((a, v) for a, v in total.items() if v != 0))


def add_fees(a: Fees, b: Fees) -> Fees:
    if not b:
        return a
    if not a:
        return b
    if len(b) == 1:
        # The common case (one fee asset per fill) without building a dict.
        asset, amount = b[0]
        for i, (have, value) in enumerate(a):
            if have == asset:
                total = value + amount
                if total == 0:
                    return a[:i] + a[i + 1 :]
                return (*a[:i], (asset, total), *a[i + 1 :])
        return tuple(sorted((*a, b[0])))
    return make_fees((*a, *b))


@dataclass(slots=True, unsafe_hash=True)  # not frozen: cheap to build (issue 12); never mutated
class OrderEvidence:
    """A cumulative order snapshot (stream update or REST answer).

    ``status`` is ``None`` for an acknowledgement that only links ids (a create response
    without state). ``fees`` is ``None`` when the source does not carry cumulative fees
    (Binance executionReport carries only the last trade's commission).
    ``event_id`` is the venue's per-event id where one exists (Binance ``I``), so a replay
    of the same event is told from a new report with the same content.
    """

    symbol: str
    order_id: str | None
    client_id: str | None
    status: OrderStatus | None
    side: Side | None = None
    amount: Decimal | None = None
    price: Decimal | None = None
    filled: Decimal | None = None
    cost: Decimal | None = None
    fees: Fees | None = None
    timestamp: int | None = None
    event_id: str | None = None
    source: str = ""


@dataclass(slots=True, unsafe_hash=True)  # not frozen: cheap to build (issue 12); never mutated
class TradeEvidence:
    """One fill of one order (incremental).

    ``fees`` is ``None`` when the source does not carry the fee (Binance USDⓈ-M
    TRADE_LITE, Bybit execution.fast, OKX fills channel); the ledger completes it when the
    full report of the same fill arrives.
    """

    symbol: str
    order_id: str | None
    client_id: str | None
    trade_id: str
    side: Side | None
    amount: Decimal
    price: Decimal
    cost: Decimal
    fees: Fees | None = NO_FEES
    timestamp: int | None = None
    source: str = ""


Evidence = OrderEvidence | TradeEvidence


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one message turned into: evidence items, or a reason it carries none.

    ``skipped`` names messages that are valid but are not order evidence (account
    position events, listen-key expiry, funding rows); they are counted, not rejected.
    """

    items: tuple[Evidence, ...]
    skipped: str | None = None
