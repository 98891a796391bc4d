"""Configuration: a TOML file validated by pydantic; unknown keys and bad values are errors.

Numbers that are money or size are read as Decimal (TOML floats are parsed with
``parse_float=Decimal``, and strings like ``"0.001"`` are accepted too), never float.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gridledger.domain.coid import CoidError, validate_grid_id
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument


class ConfigError(ValueError):
    """The config file is missing, not TOML, or has a bad or unknown key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _finite(value: Decimal, name: str) -> Decimal:
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number")
    return value


class GridConfig(_Strict):
    id: str
    symbol: str
    anchor: Decimal
    interval: Decimal
    account: str = "default"
    contract_size: Decimal = Decimal(1)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        try:
            return validate_grid_id(value)
        except CoidError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        Instrument.from_symbol(value)
        return value

    @field_validator("anchor", "interval", "contract_size")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        _finite(value, "value")
        if value <= 0:
            raise ValueError("must be greater than 0")
        return value

    def spec(self) -> GridSpec:
        return GridSpec(
            grid_id=self.id,
            instrument=Instrument.from_symbol(self.symbol, self.contract_size),
            anchor=self.anchor,
            interval=self.interval,
            account=self.account,
        )


class StrategyConfig(_Strict):
    buy_window: int = Field(5, ge=1, le=500)
    quote_per_level: Decimal = Decimal(100)
    max_open_orders: int = Field(20, ge=1)
    post_only: bool = True
    post_only_retries: int = Field(3, ge=0)
    taker_fallback: bool = False
    post_only_close: bool = False
    hysteresis: Decimal = Decimal("0.25")
    lower_price: Decimal | None = None
    upper_price: Decimal | None = None
    paused: bool = False

    @field_validator("quote_per_level")
    @classmethod
    def _qpl(cls, value: Decimal) -> Decimal:
        _finite(value, "quote_per_level")
        if value <= 0:
            raise ValueError("must be greater than 0")
        return value

    @field_validator("hysteresis")
    @classmethod
    def _hyst(cls, value: Decimal) -> Decimal:
        _finite(value, "hysteresis")
        if not Decimal(0) <= value < Decimal("0.5"):
            raise ValueError("must be at least 0 and below 0.5 (a fraction of one interval)")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> "StrategyConfig":
        if self.lower_price is not None and self.upper_price is not None and self.lower_price >= self.upper_price:
            raise ValueError("lower_price must be below upper_price")
        return self


class EngineConfig(_Strict):
    journal_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    reconcile_every_s: float = Field(60.0, gt=0)
    drift_tolerance: Decimal = Decimal("0")
    cancel_on_exit: bool = False
    rate_limit_per_s: float = Field(10.0, gt=0)
    order_retries: int = Field(3, ge=0)
    request_timeout_s: float = Field(10.0, gt=0)
    stream_idle_s: float = Field(300.0, gt=0)  # no message for this long: watch again and reconcile
    metrics_port: int | None = Field(None, ge=1, le=65535)  # serve Prometheus metrics on 127.0.0.1
    cross_grace_s: float = Field(5.0, gt=0)  # price traded through an order this long with no fill seen: query it


class Config(_Strict):
    grid: GridConfig
    strategy: StrategyConfig = StrategyConfig()
    engine: EngineConfig = EngineConfig()
    # Tables owned by other commands (paper, live) are validated by their own models.
    paper: dict[str, Any] = Field(default_factory=dict)
    exchange: dict[str, Any] = Field(default_factory=dict)


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key")
        elif err["type"] == "missing":
            lines.append(f"{where}: required key is missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {msg} (got {err.get('input')!r})")
    return "; ".join(lines)


def parse_config(data: dict[str, Any], origin: str = "config") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {_describe(exc)}") from None


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))
