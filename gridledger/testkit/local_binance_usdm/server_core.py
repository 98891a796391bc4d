""":class:`ServerPerpCore`: the simulated perpetual with the hooks a protocol server needs.

:class:`~gridledger.exchange.sim.perp_core.PerpCore` settles funding by itself at every
``funding_interval_ms`` boundary of the clock it is given. The server runs on the wall clock,
so a test crossing 00:00, 08:00 or 16:00 UTC would see a funding it did not ask for; with
``auto_funding=False`` funding happens only when :meth:`settle_funding_now` is called (tests,
demo timers). Also here: the rate of a forced funding, and the expiry of an IOC remainder
(Binance USDⓈ-M: ``x=EXPIRED``), which the core does not model.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from gridledger.exchange.sim.perp_core import PerpCore
from gridledger.exchange.sim.perp_values import FundingPayment, PerpMarketSpec
from gridledger.exchange.sim.values import SimOrder


class ServerPerpCore(PerpCore):
    """A :class:`PerpCore` whose funding can be switched to manual (see the module doc)."""

    def __init__(
        self,
        spec: PerpMarketSpec,
        balances: Mapping[str, Decimal],
        start_ms: int,
        *,
        seed: int = 0,
        auto_funding: bool = True,
    ) -> None:
        self._auto_funding = auto_funding
        self._forcing = False
        self._rate_override: Decimal | None = None
        super().__init__(spec, balances, start_ms, seed=seed)

    @property
    def funding_rate(self) -> Decimal:
        if self._rate_override is not None:
            return self._rate_override
        return PerpCore.funding_rate.fget(self)  # type: ignore[attr-defined]

    def settle_funding_now(self, now_ms: int, rate: Decimal | None = None) -> FundingPayment | None:
        """Settle one funding at ``now_ms`` (at ``rate``, else the spec's next rate); the payment,
        or None when the position is flat (nothing is paid). The automatic schedule, if on,
        keeps its next time."""
        now = max(int(now_ms), self.now_ms)
        scheduled = self.next_funding_ms
        before = len(self.funding)
        self._forcing, self._rate_override = True, rate
        try:
            self.next_funding_ms = now
            self._settle_funding(now)
        finally:
            self._forcing, self._rate_override = False, None
            self.next_funding_ms = max(scheduled, now + 1) if self._auto_funding else self.next_funding_ms
        self.now_ms = now
        return self.funding[-1] if len(self.funding) > before else None

    def _settle_funding(self, now: int) -> None:
        if self._auto_funding or self._forcing:
            super()._settle_funding(now)

    def expire_remainder(self, order: SimOrder, now_ms: int) -> SimOrder:
        """End an open order's unfilled rest as EXPIRED (an IOC order that did not fill)."""
        current = self.orders[order.order_id]
        if not current.is_open:
            return current
        expired = self._expire(current, now_ms)
        self._account_update(now_ms)
        return expired
