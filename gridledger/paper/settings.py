"""The ``[paper]`` table: the simulated market, balances, latencies and the chaos settings."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from gridledger.config import ConfigError, _describe
from gridledger.config_types import decimal_range, float_range, int_range, text_shape


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_DURATION = re.compile(r"([0-9]{1,9}(?:\.[0-9]{1,6})?)([smhdw])")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
MAX_DURATION_MS = 400 * 86_400_000  # a simulated year and a bit
MAX_TICKS = 5_000_000  # duration / tick_ms: more would run for hours
# The simulated perpetual's settings: a spot session ignores them (and its fingerprint too).
PERP_ONLY_SETTINGS = ("maintenance_rate", "funding_interval", "funding_rates")


def parse_duration(value: str) -> int:
    """'2w', '1d', '12h', '30m', '90s' -> milliseconds (at most 400 days)."""
    m = _DURATION.fullmatch(str(value).strip())
    if not m:
        raise ValueError(f"duration must look like 90s, 30m, 12h, 1d or 2w, got {str(value)[:40]!r}")
    ms = int(Decimal(m.group(1)) * _UNIT_MS[m.group(2)])
    if ms <= 0:
        raise ValueError("duration must be positive")
    if ms > MAX_DURATION_MS:
        raise ValueError(f"duration must be at most 400d, got {str(value)!r}")
    return ms


class ChaosSettings(_Strict):
    """Faults that ``--chaos`` turns on (and engine kills with restarts from the journal)."""

    duplicate_p: Annotated[float, float_range(0, 1)] = 0.2
    reorder_window: Annotated[int, int_range(0, 1000, "messages")] = 8
    disconnect_every: Annotated[int, int_range(0, 1_000_000, "messages")] = 250
    replay_last: Annotated[int, int_range(0, 1000, "messages")] = 20
    create_timeout_p: Annotated[float, float_range(0, "0.5")] = 0.03
    # Above one in two, a reconciliation would rarely get through.
    rest_error_p: Annotated[float, float_range(0, "0.5")] = 0.03
    kills: Annotated[int, int_range(0, 100)] = 4
    min_downtime_s: Annotated[float, float_range(0, 86_400, "s")] = 5
    max_downtime_s: Annotated[float, float_range(0, 86_400, "s")] = 900

    @model_validator(mode="after")
    def _downtime(self) -> ChaosSettings:
        if self.max_downtime_s < self.min_downtime_s:
            raise ValueError("max_downtime_s must be at least min_downtime_s")
        return self


_Asset: TypeAlias = Annotated[
    str, text_shape(r"[A-Za-z0-9]{1,20}", "an asset code like BTC (letters and digits)", max_len=20)
]


MAX_FUNDING_RATES = 1000
_FundingRate: TypeAlias = Annotated[Decimal, decimal_range("-0.03", "0.03", "per funding")]
_FUNDING_RATE: TypeAdapter[Decimal] = TypeAdapter(_FundingRate)


class PaperSettings(_Strict):
    duration: str = "1d"
    seed: Annotated[int, int_range(0, 2**53)] = 7
    # 2026-01-01T00:00:00Z: fixed, so runs are reproducible.
    start_ms: Annotated[int, int_range(0, 4_102_444_800_000, "ms")] = 1_767_225_600_000
    tick_ms: Annotated[int, int_range(10, 3_600_000, "ms")] = 2000
    start_price: Annotated[Decimal, decimal_range("1e-8", "1e9")] = Decimal("30000")
    volatility: Annotated[float, float_range(0, 10, "per year")] = 0.6
    mean_reversion: Annotated[float, float_range(0, 1000, "per year")] = 30.0
    jump_probability: Annotated[float, float_range(0, 1)] = 0.0005
    jump_scale: Annotated[float, float_range(0, "0.5")] = 0.01
    volume_mean: Annotated[Decimal, decimal_range(0, "1e12", "base units", lo_open=True)] = Decimal("0.5")
    candles_csv: str | None = None  # price path from OHLCV candles (timestamp_ms,open,high,low,close,volume)
    trades_csv: str | None = None  # or from trades (timestamp_ms,price,amount)
    amount_step: Annotated[Decimal, decimal_range("1e-12", "1e6")] = Decimal("0.00001")
    price_step: Annotated[Decimal, decimal_range("1e-12", "1e6")] = Decimal("0.01")
    min_amount: Annotated[Decimal, decimal_range(0, "1e9")] = Decimal("0.00001")
    min_notional: Annotated[Decimal, decimal_range(0, "1e9", "quote")] = Decimal("5")
    # Negative: a maker rebate. A fee above 10 % is a typo (0.001 is 0.1 %).
    maker_fee: Annotated[Decimal, decimal_range("-0.01", "0.1")] = Decimal("0.001")
    taker_fee: Annotated[Decimal, decimal_range("-0.01", "0.1")] = Decimal("0.001")
    fee_mode: Literal["quote", "base_on_buy", "third"] = "base_on_buy"
    third_asset: _Asset = "BNB"
    third_asset_price: Annotated[Decimal, decimal_range("1e-12", "1e12", "quote")] = Decimal("600")
    participation: Annotated[Decimal, decimal_range(0, 1, lo_open=True)] = Decimal("0.2")
    rest_latency_ms: Annotated[int, int_range(0, 60_000, "ms")] = 40
    stream_latency_ms: Annotated[int, int_range(0, 60_000, "ms")] = 15
    balances: dict[_Asset, Annotated[Decimal, decimal_range(0, "1e15")]] = Field(
        default_factory=lambda: {"USDT": Decimal("10000"), "BTC": Decimal("0")}
    )
    chaos: ChaosSettings = ChaosSettings()
    # A perpetual grid's simulated market (a symbol like BTC/USDT:USDT, or --market perp):
    # maintenance margin as a share of the notional, funding every funding_interval at the
    # rates of funding_rates in turn (positive: longs pay shorts). Leverage and margin mode
    # are the [perp] table's (gridledger/config_perp.py), as live trading sets them.
    maintenance_rate: Annotated[Decimal, decimal_range("0.0001", "0.25")] = Decimal("0.004")
    funding_interval: str = "8h"
    # One rate, or a list used in turn (a deterministic series), at most MAX_FUNDING_RATES.
    funding_rates: _FundingRate | list[_FundingRate] = Field(default_factory=lambda: [Decimal("0.0001")])

    @field_validator("funding_rates", mode="before")
    @classmethod
    def _funding_rates(cls, value: Any) -> Any:
        # Checked here, one message naming the rate, rather than the union's two branches' errors.
        if isinstance(value, list) and not 1 <= len(value) <= MAX_FUNDING_RATES:
            raise ValueError(f"must be one rate or a list of 1 to {MAX_FUNDING_RATES} rates, got {len(value)}")
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            try:
                _FUNDING_RATE.validate_python(item)
            except ValidationError as exc:
                msg = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
                where = f"rate {i + 1}: " if isinstance(value, list) else ""
                raise ValueError(f"{where}{msg} (got {str(item)[:40]!r})") from None
        return value

    @property
    def funding_rate_series(self) -> tuple[Decimal, ...]:
        """The funding rates in turn (one rate: a constant)."""
        rates = self.funding_rates
        return tuple(rates) if isinstance(rates, list) else (rates,)

    @field_validator("funding_interval", mode="before")
    @classmethod
    def _funding_interval(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError('must be a string like "8h"')
        try:
            ms = parse_duration(value)
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix("duration ")) from None
        if not 60_000 <= ms <= 7 * 86_400_000:
            raise ValueError(f"must be from 1m to 7d, got {value!r}")
        return value

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError('must be a string like "1d" or "12h"')
        try:
            parse_duration(value)
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix("duration ")) from None
        return value

    @field_validator("candles_csv", "trades_csv")
    @classmethod
    def _data_file(cls, value: str | None) -> str | None:
        # load_config has made a relative path relative to the config file's folder.
        if value is None:
            return None
        if not value or "\x00" in value:
            raise ValueError("must be a file path")
        path = Path(value)
        if path.is_dir():
            raise ValueError("is a directory, not a CSV file")
        if not path.is_file():
            raise ValueError("file not found")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PaperSettings:
        if self.candles_csv and self.trades_csv:
            raise ValueError("give candles_csv or trades_csv, not both")
        if not (self.candles_csv or self.trades_csv) and self.duration_ms // self.tick_ms > MAX_TICKS:
            raise ValueError(
                f"duration / tick_ms is {self.duration_ms // self.tick_ms} ticks, more than {MAX_TICKS}: "
                "raise tick_ms or shorten the duration"
            )
        if self.start_price < self.price_step:
            raise ValueError("start_price must be at least price_step")
        return self

    @property
    def duration_ms(self) -> int:
        return parse_duration(self.duration)


def paper_settings(table: dict[str, Any]) -> PaperSettings:
    try:
        return PaperSettings.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(f"[paper] {_describe(exc)}") from None
    except RecursionError:
        raise ConfigError("[paper] tables or arrays nested too deeply") from None
