"""Who may do what: the bind rule and the bearer token (never from the config file)."""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping

from gridledger.config import ApiConfig

MIN_TOKEN_LEN = 16  # a short token is guessable over the network


class ApiSetupError(ValueError):
    """The [api] table cannot be served safely (one line for the command to print, exit 2)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def resolve_token(api: ApiConfig, environ: Mapping[str, str] | None = None) -> str | None:
    """The token from the environment variable ``api.token_env``; refuse an unsafe setup.

    Binding anything but loopback without a token would let the network read the books
    (and, with a weak token, steer the bot), so that is a startup error."""
    env = os.environ if environ is None else environ
    token = env.get(api.token_env) or None
    if token is not None and len(token) < MIN_TOKEN_LEN:
        raise ApiSetupError(
            f"api: the token in ${api.token_env} is {len(token)} characters; use at least {MIN_TOKEN_LEN}"
        )
    if token is None and not is_loopback(api.host):
        raise ApiSetupError(
            f"api.host {api.host} is not loopback: set a token in ${api.token_env} "
            "(at least 16 characters) or bind 127.0.0.1"
        )
    return token


def bearer_ok(header: str | None, token: str | None) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time. No token: nobody."""
    if token is None or not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())
