"""The simulated venue's mutable balances: free and locked per asset, with the changed
assets remembered for the next ``outboundAccountPosition``."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from gridledger.domain.numbers import ZERO


@dataclass(slots=True)
class BalanceBook:
    """Mutable balances; only the core's exact arithmetic touches them (it keeps the book private)."""

    free: dict[str, Decimal] = field(default_factory=dict)
    locked: dict[str, Decimal] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)

    def _mark(self, asset: str) -> None:
        if asset not in self.changed:
            self.changed.append(asset)
        self.free.setdefault(asset, ZERO)
        self.locked.setdefault(asset, ZERO)

    def add_free(self, asset: str, amount: Decimal) -> None:
        self._mark(asset)
        self.free[asset] += amount
        if self.free[asset] < 0:
            raise AssertionError(f"free {asset} went negative: {self.free[asset]}")

    def lock(self, asset: str, amount: Decimal) -> None:
        self.add_free(asset, -amount)
        self.locked[asset] += amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        self.spend_locked(asset, amount)
        self.free[asset] += amount

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        self._mark(asset)
        self.locked[asset] -= amount
        if self.locked[asset] < 0:
            raise AssertionError(f"locked {asset} went negative: {self.locked[asset]}")
