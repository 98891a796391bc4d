"""Build the ccxt.pro exchange object for live trading, with credentials from the environment.

The credentials are registered with the log redactor before the object exists, so neither a
log line nor an error message can show them (ccxt puts request details in its exceptions).
"""

from __future__ import annotations

import os
from typing import Any

import ccxt.pro

from gridledger.live.settings import ExchangeSettings
from gridledger.logs import register_secret

# ccxt ids whose endpoint override serves USDⓈ-M futures (fapi) instead of spot.
LINEAR_IDS = frozenset({"binanceusdm"})


class CredentialsError(RuntimeError):
    pass


def credentials(settings: ExchangeSettings) -> dict[str, str]:
    found: dict[str, str] = {}
    missing = []
    for field, env in (("apiKey", settings.api_key_env), ("secret", settings.secret_env)):
        value = os.environ.get(env)
        if value:
            found[field] = value
            register_secret(value)
        else:
            missing.append(env)
    password = os.environ.get(settings.password_env)
    if password:
        found["password"] = password
        register_secret(password)
    elif settings.needs_passphrase:
        missing.append(settings.password_env)
    for field, env in (
        ("apiKey", settings.api_key_env),
        ("secret", settings.secret_env),
        ("password", settings.password_env),
    ):
        value = found.get(field)
        # A key pasted with its trailing newline would be signed and sent as is: the venue
        # answers with a confusing auth error (or aiohttp refuses the header). Name the variable,
        # never the value.
        if value is not None and (value != value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value)):
            raise CredentialsError(
                f"the environment variable {env} has leading or trailing whitespace "
                "(a newline?) or control characters: set it to the bare value"
            )
    if missing:
        raise CredentialsError(
            "missing credentials: set the environment variable(s) "
            + ", ".join(missing)
            + " (names can be changed in the [exchange] table)"
        )
    return found


def build_exchange(settings: ExchangeSettings, *, sandbox: bool) -> Any:
    params: dict[str, Any] = {
        **credentials(settings),
        "enableRateLimit": True,
        "timeout": settings.timeout_ms,
        "options": dict(settings.options),
    }
    if settings.endpoint is not None:
        # A local test server or a proxy serves one market type: spot, or USDⓈ-M futures for
        # binanceusdm (its own defaults; only the spot-wallet calls are turned off).
        linear = settings.id in LINEAR_IDS
        params["options"] = {
            "fetchMarkets": {"types": ["linear" if linear else "spot"]},
            "fetchMargins": False,
            "fetchCurrencies": False,
            "defaultType": "swap" if linear else "spot",
            **params["options"],
        }
    exchange = getattr(ccxt.pro, settings.id)(params)
    exchange.number = str  # amounts arrive as exact strings, parsed as Decimal
    exchange.streaming["keepAlive"] = settings.keep_alive_ms
    if sandbox:
        exchange.set_sandbox_mode(True)
    if settings.endpoint is not None:
        from gridledger.live.endpoint import endpoint_urls

        http = settings.endpoint.rstrip("/")
        ws = "ws" + http[len("http") :]
        local = endpoint_urls(exchange.urls["api"], http, ws)
        exchange.urls["api"] = local
        exchange.urls["test"] = dict(local)
    return exchange
