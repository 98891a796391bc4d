"""The ground-truth check: the ledger against the simulated exchange, compared exactly.

The ledger implies balances without ever reading them: base = initial + sum of slot qty;
quote = initial + sum over slots of (realized PnL - cost basis), which is what the buys
spent and the sells brought in, net of quote fees; any other asset = initial - its fees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from gridledger.domain.numbers import ZERO
from gridledger.exchange.sim.matching import SimCore
from gridledger.ledger.ledger import Ledger


@dataclass(slots=True)
class AuditResult:
    differences: list[str] = field(default_factory=list)
    checked_orders: int = 0
    checked_assets: int = 0

    @property
    def match(self) -> bool:
        return not self.differences


def implied_balances(ledger: Ledger, initial: Mapping[str, Decimal]) -> dict[str, Decimal]:
    inst = ledger.grid.instrument
    out = {asset: Decimal(amount) for asset, amount in initial.items()}
    out[inst.base] = out.get(inst.base, ZERO) + ledger.position
    flow = sum((s.state.realized - s.state.cost for s in ledger.slots.values()), ZERO)
    out[inst.quote] = out.get(inst.quote, ZERO) + flow
    for asset, fee in ledger.fees().items():
        if asset not in (inst.base, inst.quote):
            out[asset] = out.get(asset, ZERO) - fee
    return out


def audit(ledger: Ledger, core: SimCore, initial: Mapping[str, Decimal]) -> AuditResult:
    result = AuditResult()
    truth = {asset: bal.total for asset, bal in core.balances().items()}
    implied = implied_balances(ledger, initial)
    for asset in sorted(set(truth) | set(implied)):
        result.checked_assets += 1
        have, want = implied.get(asset, ZERO), truth.get(asset, ZERO)
        if have != want:
            result.differences.append(f"balance {asset}: ledger implies {have}, exchange holds {want}")
    base = ledger.grid.instrument.base
    position = core.position() - Decimal(initial.get(base, ZERO))
    if ledger.position != position:
        result.differences.append(f"position: ledger {ledger.position}, exchange {position}")
    check_orders(ledger, core, result)
    return result


def check_orders(ledger: Ledger, core: SimCore, result: AuditResult) -> None:
    """Live orders against the venue's open orders, and every order's filled quantity and
    finished state (the part of the audit every market type shares)."""
    open_truth = {o.client_order_id: o for o in core.open_orders()}
    live = {r.client_id: r for r in ledger.live_orders()}
    for cid in sorted(set(open_truth) - set(live)):
        result.differences.append(f"open order {cid} on the exchange is not live in the ledger")
    for cid in sorted(set(live) - set(open_truth)):
        result.differences.append(f"ledger order {cid} is live but not open on the exchange")
    for order in core.orders.values():
        result.checked_orders += 1
        rec = ledger.order(order.client_order_id)
        if rec is None:
            if order.filled > 0:
                result.differences.append(f"order {order.client_order_id} filled {order.filled}, unknown to the ledger")
            continue
        if rec.filled != order.filled:
            result.differences.append(
                f"order {order.client_order_id}: ledger filled {rec.filled}, exchange {order.filled}"
            )
        status = rec.status
        if order.is_open != (status is None or not status.terminal):
            result.differences.append(f"order {order.client_order_id}: ledger status {status}, exchange {order.status}")
