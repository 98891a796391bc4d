"""The ``[paper]`` table: the simulated market, balances, latencies and the chaos settings."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gridledger.config import ConfigError, _describe


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration(text: str) -> int:
    """'1d', '12h', '30m', '90s' -> milliseconds."""
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"duration must look like 90s, 30m, 12h or 1d, got {text!r}")
    ms = int(Decimal(m.group(1)) * _UNIT_MS[m.group(2)])
    if ms <= 0:
        raise ValueError("duration must be positive")
    return ms


class ChaosSettings(_Strict):
    """Faults that ``--chaos`` turns on (and engine kills with restarts from the journal)."""

    duplicate_p: float = Field(0.2, ge=0, le=1)
    reorder_window: int = Field(8, ge=0)
    disconnect_every: int = Field(250, ge=0)
    replay_last: int = Field(20, ge=0)
    create_timeout_p: float = Field(0.03, ge=0, le=1)
    rest_error_p: float = Field(0.03, ge=0, le=1)
    kills: int = Field(4, ge=0)
    min_downtime_s: float = Field(5, ge=0)
    max_downtime_s: float = Field(900, ge=0)


class PaperSettings(_Strict):
    duration: str = "1d"
    seed: int = 7
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z: fixed, so runs are reproducible
    tick_ms: int = Field(2000, gt=0)
    start_price: Decimal = Decimal("30000")
    volatility: float = Field(0.6, ge=0)
    mean_reversion: float = Field(30.0, ge=0)
    jump_probability: float = Field(0.0005, ge=0, le=1)
    jump_scale: float = Field(0.01, ge=0)
    volume_mean: Decimal = Decimal("0.5")
    candles_csv: str | None = None  # price path from OHLCV candles (timestamp_ms,open,high,low,close,volume)
    trades_csv: str | None = None  # or from trades (timestamp_ms,price,amount)
    amount_step: Decimal = Decimal("0.00001")
    price_step: Decimal = Decimal("0.01")
    min_amount: Decimal = Decimal("0.00001")
    min_notional: Decimal = Decimal("5")
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    fee_mode: Literal["quote", "base_on_buy", "third"] = "base_on_buy"
    third_asset: str = "BNB"
    third_asset_price: Decimal = Decimal("600")
    participation: Decimal = Decimal("0.2")
    rest_latency_ms: int = Field(40, ge=0)
    stream_latency_ms: int = Field(15, ge=0)
    balances: dict[str, Decimal] = Field(default_factory=lambda: {"USDT": Decimal("10000"), "BTC": Decimal("0")})
    chaos: ChaosSettings = ChaosSettings()

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("balances")
    @classmethod
    def _balances(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for asset, amount in value.items():
            if not amount.is_finite() or amount < 0:
                raise ValueError(f"balance of {asset} must be a number >= 0")
        return value

    @property
    def duration_ms(self) -> int:
        return parse_duration(self.duration)


def paper_settings(table: dict) -> PaperSettings:
    try:
        return PaperSettings.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(f"[paper] {_describe(exc)}") from None
