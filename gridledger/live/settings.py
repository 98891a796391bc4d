"""The ``[exchange]`` table: which venue, where the credentials come from, test endpoints."""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gridledger.config import ConfigError, _describe
from gridledger.config_types import float_range, int_range, text_shape
from gridledger.venues.registry import live_exchange_ids, venue_for_exchange


def supported() -> tuple[str, ...]:
    """The live venues with a venue parser: the ccxt ids the venue registry declares."""
    return live_exchange_ids()


_EnvName: TypeAlias = Annotated[
    str, text_shape(r"[A-Za-z_][A-Za-z0-9_]{0,127}", "an environment variable name like GRIDLEDGER_API_KEY", 128)
]


class ExchangeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # No default: a config without a venue must not quietly trade on the real Binance.
    id: str
    # Names of the environment variables that hold the credentials (never the values).
    api_key_env: _EnvName = "GRIDLEDGER_API_KEY"
    secret_env: _EnvName = "GRIDLEDGER_API_SECRET"
    password_env: _EnvName = "GRIDLEDGER_API_PASSWORD"
    journal: Annotated[str, text_shape(r"[^\x00]{1,4096}", "a file path", 4096)] | None = (
        None  # default: ./gridledger-<grid id>.db
    )
    # Point every REST and WebSocket URL of a Binance-style venue at this host (paths kept):
    # for a local test server or a proxy. Leave unset for the real venue.
    endpoint: str | None = None
    timeout_ms: Annotated[int, int_range(100, 600_000, "ms")] = 10_000
    keep_alive_ms: Annotated[int, int_range(1000, 600_000, "ms")] = (
        30_000  # ccxt ping interval: a dead socket is noticed in ~2x this
    )
    options: dict[str, Any] = Field(default_factory=dict)  # passed to ccxt as exchange options
    status_every_s: Annotated[float, float_range(1, 86_400, "s")] = 60.0

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        import ccxt.pro

        if value not in ccxt.pro.exchanges:
            raise ValueError(f"ccxt.pro has no exchange {value[:40]!r}")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and (
            not value.startswith(("http://", "https://"))
            or len(value) > 2048
            or any(c.isspace() or ord(c) < 32 for c in value)
        ):
            raise ValueError("endpoint must be a URL starting with http:// or https://")
        return value

    @property
    def needs_passphrase(self) -> bool:
        """The venue's API keys come with a passphrase (OKX): its variable must be set."""
        venue = venue_for_exchange(self.id)
        return venue is not None and venue.needs_passphrase

    def venue(self, sandbox: bool) -> str:
        """Where orders go, for the banner: the venue, test or real, and an endpoint override."""
        where = "sandbox/testnet" if sandbox else "REAL venue"
        if self.endpoint is not None:
            where = f"endpoint {self.endpoint}" + (" (sandbox)" if sandbox else "")
        return f"{self.id}, {where}"


def exchange_settings(table: dict[str, Any]) -> ExchangeSettings:
    if not table:
        raise ConfigError(
            '[exchange] table is missing: live needs the venue, e.g. [exchange] id = "binance" '
            f"(one of {', '.join(supported())})"
        )
    try:
        return ExchangeSettings.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(f"[exchange] {_describe(exc)}") from None
    except RecursionError:
        raise ConfigError("[exchange] tables or arrays nested too deeply") from None
