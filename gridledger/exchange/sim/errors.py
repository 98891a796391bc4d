"""The simulated venue's refusals, each carrying Binance's error code and message."""

from __future__ import annotations

from typing import Any

from gridledger.exchange.sim.binance_format import error_body


class SimOrderError(Exception):
    """A request the venue refuses; ``code`` and ``msg`` are Binance's."""

    code: int
    msg: str

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg

    def body(self) -> dict[str, Any]:
        """The JSON error body Binance sends with the HTTP 400."""
        return error_body(self.code, self.msg)


class BadRequest(SimOrderError):
    """Malformed request (bad type, missing price, illegal client id)."""


class FilterFailure(SimOrderError):
    """A symbol filter refused the order: PRICE_FILTER, LOT_SIZE, NOTIONAL (-1013)."""

    def __init__(self, filter_name: str) -> None:
        super().__init__(-1013, f"Filter failure: {filter_name}")
        self.filter_name = filter_name


class InsufficientBalance(SimOrderError):
    def __init__(self) -> None:
        super().__init__(-2010, "Account has insufficient balance for requested action.")


class WouldTake(SimOrderError):
    """A post-only (LIMIT_MAKER) order would have traded at once."""

    def __init__(self) -> None:
        super().__init__(-2010, "Order would immediately match and take.")


class DuplicateOrder(SimOrderError):
    def __init__(self) -> None:
        super().__init__(-2010, "Duplicate order sent.")


class UnknownOrder(SimOrderError):
    """-2011 for a cancel of an unknown or closed order, -2013 for a query."""

    @classmethod
    def on_cancel(cls) -> UnknownOrder:
        return cls(-2011, "Unknown order sent.")

    @classmethod
    def on_query(cls) -> UnknownOrder:
        return cls(-2013, "Order does not exist.")
