"""The ``[exchange]`` table: which venue, where the credentials come from, test endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gridledger.config import ConfigError, _describe

SUPPORTED = ("binance", "binanceusdm", "okx", "bybit")


class ExchangeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = "binance"
    # Names of the environment variables that hold the credentials (never the values).
    api_key_env: str = "GRIDLEDGER_API_KEY"
    secret_env: str = "GRIDLEDGER_API_SECRET"
    password_env: str = "GRIDLEDGER_API_PASSWORD"
    journal: str | None = None  # default: ./gridledger-<grid id>.db
    # Point every REST and WebSocket URL of a Binance-style venue at this host (paths kept):
    # for a local test server or a proxy. Leave unset for the real venue.
    endpoint: str | None = None
    timeout_ms: int = Field(10_000, gt=0)
    keep_alive_ms: int = Field(30_000, gt=0)  # ccxt ping interval: a dead socket is noticed in ~2x this
    options: dict[str, Any] = Field(default_factory=dict)  # passed to ccxt as exchange options
    status_every_s: float = Field(60.0, gt=0)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        import ccxt.pro

        if value not in ccxt.pro.exchanges:
            raise ValueError(f"ccxt.pro has no exchange {value!r}")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("endpoint must start with http:// or https://")
        return value


def exchange_settings(table: dict[str, Any]) -> ExchangeSettings:
    try:
        return ExchangeSettings.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(f"[exchange] {_describe(exc)}") from None
