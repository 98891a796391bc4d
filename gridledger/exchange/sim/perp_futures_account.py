"""The simulated perpetual's USDⓈ-M futures account: wallet, margin, settings, funding.

:class:`PerpAccount` holds what :class:`~gridledger.exchange.sim.perp_core.PerpCore` trades
against (see that module for the rules): one signed net position and its entry cost, the
settle-asset wallet, leverage and margin mode, the margin figures derived from them (via
:mod:`.perp_margin`), the funding settlements, and the ``ACCOUNT_UPDATE`` events they owe.
Order handling, fills and liquidation are the core's.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

from gridledger.domain.numbers import ZERO
from gridledger.domain.types import Side
from gridledger.exchange.sim import binance_usdm_format as uf
from gridledger.exchange.sim.errors import BadRequest, SimOrderError
from gridledger.exchange.sim.matching import SimCore
from gridledger.exchange.sim.perp_margin import (
    Q8,
    entry_price,
    liquidation_price,
    maintenance,
    margin_ratio,
    opening_margin,
    position_margin,
    to_decimal8,
)
from gridledger.exchange.sim.perp_values import FundingPayment, Liquidation, MarginMode, PerpMarketSpec, check_leverage
from gridledger.exchange.sim.values import Balance, DuplicateScope

__all__ = ["PerpAccount"]


def _refusal(code: int, msg: str) -> SimOrderError:
    return SimOrderError(code, msg)


class PerpAccount(SimCore):
    """The futures account of one USDⓈ-M linear perpetual (the order handling is :class:`PerpCore`'s)."""

    spec: PerpMarketSpec

    def __init__(
        self,
        spec: PerpMarketSpec,
        balances: Mapping[str, Decimal],
        start_ms: int,
        *,
        seed: int = 0,
        first_order_id: int = 1,
        first_trade_id: int = 1,
        duplicate_scope: DuplicateScope = "open",
    ) -> None:
        super().__init__(
            spec,
            {},
            start_ms,
            seed=seed,
            first_order_id=first_order_id,
            first_trade_id=first_trade_id,
            duplicate_scope=duplicate_scope,
        )
        wallet = ZERO
        for asset, amount in balances.items():
            amount = Decimal(amount)
            if amount < 0 or not amount.is_finite():
                raise ValueError(f"initial balance of {asset} must be >= 0, got {amount}")
            if asset == spec.settle:
                wallet = amount
            elif amount:
                raise ValueError(f"a {spec.settle}-margined futures account holds only {spec.settle}, not {asset}")
        self.cash: Decimal = wallet
        self.position_amt: Decimal = ZERO
        self.cost: Fraction = Fraction(0)  # signed: position x average entry price
        self.realized_total: Fraction = Fraction(0)
        self.isolated_margin: Decimal = ZERO
        self.leverage: int = spec.leverage
        self.margin_mode: MarginMode = spec.margin_mode
        self.dual_side = False
        self.mark: Decimal | None = None
        self.reduce_only: dict[int, bool] = {}
        self.realized_by_trade: dict[int, Decimal] = {}
        self.funding: list[FundingPayment] = []
        self.liquidations: list[Liquidation] = []
        self.fees_paid: Decimal = ZERO
        interval = spec.funding_interval_ms
        self.next_funding_ms = (int(start_ms) // interval + 1) * interval
        self._funding_count = 0
        self._next_tran_id = 1
        self._dirty: str | None = None  # the ACCOUNT_UPDATE reason owed, if any
        self._balance_change = ZERO
        self._exec_type_override: str | None = None

    # --- queries ------------------------------------------------------------------------------

    @property
    def wallet(self) -> Fraction:
        return Fraction(self.cash) + self.cost

    @property
    def entry(self) -> Fraction:
        return entry_price(self.position_amt, self.cost)

    @property
    def funding_rate(self) -> Decimal:
        """The rate of the next funding."""
        rates = self.spec.funding_rates
        return rates[self._funding_count % len(rates)]

    def _mark_or(self, fallback: Decimal | None = None) -> Decimal:
        if self.mark is not None:
            return self.mark
        return fallback if fallback is not None else ZERO

    def unrealized(self) -> Fraction:
        return Fraction(self.position_amt * self._mark_or()) - self.cost

    def margin_balance(self) -> Fraction:
        """Cross: wallet + unrealized PnL (= cash + position x mark). Isolated: the position's
        isolated margin + its unrealized PnL."""
        if self.margin_mode == "isolated":
            return Fraction(self.isolated_margin) + self.unrealized()
        return Fraction(self.cash + self.position_amt * self._mark_or())

    def maintenance_margin(self) -> Decimal:
        return maintenance(self.position_amt, self._mark_or(), self.spec.maintenance_rate)

    def _resting(self) -> list[tuple[Side, Decimal, Decimal]]:
        return [(o.side, o.remaining, o.price) for o in self.open_orders() if o.price is not None]

    def order_margin(self, extra: tuple[Side, Decimal, Decimal] | None = None) -> Fraction:
        resting = self._resting()
        if extra is not None:
            resting.append(extra)
        return opening_margin(resting, self.position_amt, self.leverage)

    def available(self, order_margin: Fraction | None = None) -> Fraction:
        """What new opening orders may still use."""
        om = self.order_margin() if order_margin is None else order_margin
        if self.margin_mode == "isolated":
            return self.wallet - Fraction(self.isolated_margin) - om
        return self.margin_balance() - position_margin(self.position_amt, self._mark_or(), self.leverage) - om

    def liquidation_price(self) -> Decimal:
        collateral = Fraction(self.isolated_margin) if self.margin_mode == "isolated" else self.wallet
        return liquidation_price(self.position_amt, collateral, self.cost, self.spec.maintenance_rate)

    def margin_ratio(self) -> Decimal | None:
        return margin_ratio(self.maintenance_margin(), self.margin_balance())

    def balances(self) -> dict[str, Balance]:
        """The settle asset: free = available balance, locked = initial margin (8 decimals)."""
        om = self.order_margin()
        pm = position_margin(self.position_amt, self._mark_or(), self.leverage)
        return {self.spec.settle: Balance(to_decimal8(self.available(om)), to_decimal8(om + pm))}

    def balance(self, asset: str) -> Balance:
        return self.balances().get(asset, Balance(ZERO, ZERO))

    def position(self) -> Decimal:
        """The signed net position in contracts (= base units)."""
        return self.position_amt

    def _notional(self, side: Side) -> Decimal:
        return sum((o.remaining * o.price for o in self.open_orders() if o.side is side and o.price), ZERO)

    def position_view(self) -> uf.PositionView:
        mark = self._mark_or()
        om = self.order_margin()
        pm = position_margin(self.position_amt, mark, self.leverage)
        isolated = self.margin_mode == "isolated"
        iso = self.isolated_margin if isolated else ZERO
        return uf.PositionView(
            symbol=self.spec.venue_id,
            amount=self.position_amt,
            entry=self.entry,
            mark=mark,
            unrealized=self.unrealized(),
            liquidation=self.liquidation_price(),
            isolated_margin=to_decimal8(Fraction(iso) + self.unrealized()) if isolated and self.position_amt else ZERO,
            isolated_wallet=iso,
            initial_margin=pm + om,
            position_margin=pm,
            order_margin=om,
            maintenance=self.maintenance_margin(),
            leverage=self.leverage,
            margin_mode=self.margin_mode,
            realized_total=self.realized_total,
            bids_notional=self._notional(Side.BUY),
            asks_notional=self._notional(Side.SELL),
            update_ms=self.now_ms,
        )

    def account_view(self) -> uf.AccountView:
        mark = self._mark_or()
        om = self.order_margin()
        pm = position_margin(self.position_amt, mark, self.leverage)
        unrealized = self.unrealized()
        wallet = self.wallet
        return uf.AccountView(
            asset=self.spec.settle,
            wallet=wallet,
            cross_wallet=wallet - Fraction(self.isolated_margin),
            unrealized=unrealized,
            margin_balance=wallet + unrealized,
            initial_margin=pm + om,
            position_margin=pm,
            order_margin=om,
            maintenance=self.maintenance_margin(),
            available=self.available(om),
            update_ms=self.now_ms,
        )

    # --- settings -----------------------------------------------------------------------------

    def set_leverage(self, leverage: int) -> int:
        try:
            check_leverage(leverage)
        except ValueError:
            raise BadRequest(-4028, f"Leverage {leverage} is not valid") from None
        self.leverage = leverage
        return leverage

    def set_margin_mode(self, mode: str) -> None:
        """``CROSSED``/``cross`` or ``ISOLATED``/``isolated``."""
        wanted = {"crossed": "cross", "cross": "cross", "isolated": "isolated"}.get(str(mode).lower())
        if wanted is None:
            raise BadRequest(-1116, "Invalid marginType.")
        if wanted == self.margin_mode:
            raise _refusal(-4046, "No need to change margin type.")
        if self._open:
            raise _refusal(-4047, "Margin type cannot be changed if there exists open orders.")
        if self.position_amt:
            raise _refusal(-4048, "Margin type cannot be changed if there exists position.")
        self.margin_mode = "cross" if wanted == "cross" else "isolated"

    def set_position_mode(self, dual_side: bool) -> None:
        if bool(dual_side) == self.dual_side:
            raise _refusal(-4059, "No need to change position side.")
        if self._open:
            raise _refusal(-4067, "Position side cannot be changed if there exists open orders.")
        if self.position_amt:
            raise _refusal(-4068, "Position side cannot be changed if there exists position.")
        self.dual_side = bool(dual_side)

    def deposit(self, asset: str, amount: Decimal) -> None:
        """A transfer in (or, negative, out) of the futures wallet the grid did not make."""
        if asset != self.spec.settle:
            raise ValueError(f"a {self.spec.settle}-margined account holds only {self.spec.settle}")
        self.cash += amount
        self._owe_update("DEPOSIT" if amount >= 0 else "WITHDRAW", amount)
        self._account_update(self.now_ms)

    # --- account bookkeeping ------------------------------------------------------------------

    def _owe_update(self, reason: str, balance_change: Decimal = ZERO) -> None:
        if self._dirty is None or self._dirty == "ORDER":
            self._dirty = reason
        self._balance_change += balance_change

    def _settle_funding(self, now: int) -> None:
        interval = self.spec.funding_interval_ms
        while self.next_funding_ms <= now:
            at = self.next_funding_ms
            rate = self.funding_rate
            self._funding_count += 1
            self.next_funding_ms += interval
            p, mark = self.position_amt, self.mark
            if not p or mark is None:
                continue
            amount = (-(p * mark * rate)).quantize(Q8, rounding=ROUND_DOWN)
            if not amount:
                continue
            payment = FundingPayment(self._next_tran_id, at, rate, mark, p, amount)
            self._next_tran_id += 1
            self.cash += amount
            self.funding.append(payment)
            self._owe_update("FUNDING_FEE", amount)
            self._account_update(max(at, self.now_ms))

    def _account_update(self, now: int) -> None:
        if self._dirty is None:
            return
        reason, change = self._dirty, self._balance_change
        self._dirty, self._balance_change = None, ZERO
        self._emit(uf.account_update(now, reason, self.account_view(), [self.position_view()], change), now)
