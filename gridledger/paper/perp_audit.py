"""The ground-truth check of a perpetual paper session, exact.

- Position: the venue's signed net position (contracts of one base unit) against the
  ledger's net slot inventory (long slots minus short slots, ``Ledger.net_position``).
- Settle asset: the ledger implies what trading moved, ``initial + sum over slots of
  (realized PnL - basis)`` for long slots and ``(realized PnL + basis)`` for short slots
  (buys spent and sells brought in, net of fees), plus the funding the journal recorded;
  the venue's exact figure is its wallet balance minus the open position's entry cost
  (``PerpCore.cash``). Both sides are independent of how the venue averages its entry
  price, so they agree to the last digit whatever the fill order.
- Funding: the payments the journal recorded (by id) against those the venue paid.
- Open orders and every order's filled quantity and state, as for spot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from gridledger.domain.numbers import ZERO
from gridledger.domain.types import Direction
from gridledger.exchange.sim.perp_core import PerpCore
from gridledger.ledger.ledger import Ledger
from gridledger.paper.audit import AuditResult, check_orders

__all__ = ["implied_cash", "net_position", "perp_audit"]


def net_position(ledger: Ledger) -> Decimal:
    value = getattr(ledger, "net_position", None)
    return value if isinstance(value, Decimal) else ledger.position


def _direction(ledger: Ledger, level: int) -> Direction:
    of = getattr(ledger.grid, "level_direction", None)
    direction = of(level) if of is not None else Direction.LONG
    return direction if isinstance(direction, Direction) else Direction.LONG


def implied_cash(ledger: Ledger, initial: Decimal, funding: Decimal) -> Decimal:
    """What the ledger says trading and funding moved in the settle asset (see the module doc)."""
    flow = ZERO
    for slot in ledger.slots.values():
        st = slot.state
        if _direction(ledger, slot.level) is Direction.SHORT:
            flow += st.realized + st.cost
        else:
            flow += st.realized - st.cost
    return initial + flow + funding


def perp_audit(
    ledger: Ledger,
    core: PerpCore,
    initial: Mapping[str, Decimal],
    journal_funding: Sequence[tuple[str, Decimal]] | None,
) -> AuditResult:
    """``journal_funding``: (payment id, amount) the engine recorded; None when the engine
    keeps no funding record (then the venue's payments are taken as they were paid)."""
    result = AuditResult()
    settle = core.spec.settle
    venue_funding = [(str(p.tran_id), p.amount) for p in core.funding]
    funding = venue_funding if journal_funding is None else list(journal_funding)
    if journal_funding is not None:
        result.checked_assets += 1
        if sorted(journal_funding) != sorted(venue_funding):
            have = sum((a for _, a in journal_funding), ZERO)
            want = sum((a for _, a in venue_funding), ZERO)
            result.differences.append(
                f"funding: journal records {len(journal_funding)} payments totalling {have}, "
                f"exchange paid {len(venue_funding)} totalling {want}"
            )
    result.checked_assets += 1
    start = Decimal(initial.get(settle, ZERO))
    have_cash = implied_cash(ledger, start, sum((a for _, a in funding), ZERO))
    if have_cash != core.cash:
        result.differences.append(
            f"balance {settle} (wallet minus the position's entry cost): ledger implies {have_cash}, "
            f"exchange holds {core.cash}"
        )
    held = net_position(ledger)
    if held != core.position_amt:
        result.differences.append(f"position: ledger {held}, exchange {core.position_amt}")
    for liq in core.liquidations:
        result.differences.append(
            f"liquidated at {liq.ts_ms}: position {liq.position} closed at mark {liq.mark} "
            f"(margin balance {liq.margin_balance} below maintenance {liq.maintenance})"
        )
    check_orders(ledger, core, result)
    return result
