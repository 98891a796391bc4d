"""The ``[perp]`` table: what a perpetual (USDⓈ-M) grid sets on the account and guards.

Read only for a perpetual symbol (``BTC/USDT:USDT``); a ``[perp]`` table on a spot grid is a
configuration error (``gridledger live`` says so, one line, exit 2). Every timing is here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from gridledger.config_types import decimal_range, float_range, int_range
from gridledger.domain.instrument import Instrument

__all__ = ["PerpConfig", "perp_table_error"]


class PerpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Set on the symbol at start and read back: a mismatch stops the start, nothing placed.
    leverage: Annotated[int, int_range(1, 125, "x")] = 1
    margin_mode: Literal["cross", "isolated"] = "cross"
    # Above this margin ratio (maintenance margin / margin balance, as Binance shows it; 1 is
    # liquidation) opening orders pause; they resume at or below resume_margin_ratio.
    max_margin_ratio: Annotated[Decimal, decimal_range(0, 1, "of margin balance", lo_open=True)] = Decimal("0.5")
    resume_margin_ratio: Annotated[Decimal, decimal_range(0, 1, "of margin balance", lo_open=True)] | None = None
    margin_poll_s: Annotated[float, float_range(1, 86_400, "s")] = 30.0  # position and margin read this often
    # Funding payments: the income history is read this often, and soon after the stream says a
    # funding fee was booked; each read starts this far before the newest payment recorded.
    funding_poll_s: Annotated[float, float_range(10, 86_400, "s")] = 600.0
    funding_trigger_delay_s: Annotated[float, float_range(0, 600, "s")] = 2.0
    funding_overlap_s: Annotated[float, float_range(0, 604_800, "s")] = 3600.0
    funding_page: Annotated[int, int_range(1, 1000, "rows")] = 100
    funding_pages: Annotated[int, int_range(1, 1000, "pages")] = 20

    @model_validator(mode="after")
    def _resume(self) -> PerpConfig:
        if self.resume_margin_ratio is not None and self.resume_margin_ratio > self.max_margin_ratio:
            raise ValueError("resume_margin_ratio must not be above max_margin_ratio")
        return self

    @property
    def resume_ratio(self) -> Decimal:
        return self.resume_margin_ratio if self.resume_margin_ratio is not None else self.max_margin_ratio


def perp_table_error(symbol: str, perp_given: bool) -> str | None:
    """The one-line error for a ``[perp]`` table on a spot grid, or None."""
    if perp_given and Instrument.from_symbol(symbol).kind != "linear":
        return f"perp: the [perp] table is for perpetual symbols such as BTC/USDT:USDT; grid.symbol {symbol} is spot"
    return None
