"""Request security as Binance checks it: API key, HMAC-SHA256 signature, timing window.

REST (rest-api.md "SIGNED Endpoint security"): the signature is the HMAC-SHA256, keyed with
the secret, of ``totalParams`` = the query string concatenated with the request body, both
as sent (no re-encoding, so what the client signed is what is checked), minus the
``signature`` parameter itself. The WebSocket API signs its ``params`` object instead: every
parameter except ``signature``, sorted by name, joined as ``name=value`` with ``&``.

Timing: a request is accepted when ``timestamp < server_time + 1000`` and
``server_time - timestamp <= recvWindow`` (default 5000, at most 60000).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from gridledger.testkit.local_binance import errors
from gridledger.testkit.local_binance.errors import ApiError
from gridledger.testkit.local_binance.params import Params

_DEFAULT_RECV_WINDOW = 5000
_MAX_RECV_WINDOW = 60000
_MAX_AHEAD_MS = 1000


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    secret: str

    def sign(self, payload: str) -> str:
        return hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _strip_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` without its ``signature=`` pair (kept byte for byte otherwise), and the value."""
    if not raw:
        return raw, None
    kept: list[str] = []
    signature: str | None = None
    for pair in raw.split("&"):
        if pair.startswith("signature="):
            signature = pair[len("signature=") :]
        else:
            kept.append(pair)
    return "&".join(kept), signature


def check_api_key(header: str | None, creds: Credentials) -> None:
    if not header:
        raise errors.api_key_format()
    if not hmac.compare_digest(header, creds.api_key):
        raise errors.bad_api_key()


def check_timing(params: Params, now_ms: int) -> None:
    timestamp = params.integer("timestamp")
    if timestamp is None:
        raise errors.mandatory("timestamp")
    window = params.integer("recvWindow")
    if window is None:
        window = _DEFAULT_RECV_WINDOW
    if window > _MAX_RECV_WINDOW or window < 0:
        raise ApiError(-1131, f"recvWindow must be less than {_MAX_RECV_WINDOW}")
    if timestamp >= now_ms + _MAX_AHEAD_MS:
        raise ApiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now_ms - timestamp > window:
        raise ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")


def verify_rest(
    api_key_header: str | None,
    raw_query: str,
    raw_body: str,
    params: Params,
    creds: Credentials,
    now_ms: int,
) -> None:
    """Raise the ApiError Binance would answer for an unauthorised SIGNED request."""
    check_api_key(api_key_header, creds)
    query, sig_q = _strip_signature(raw_query)
    body, sig_b = _strip_signature(raw_body)
    signature = sig_b if sig_b is not None else sig_q
    if not signature:
        raise errors.mandatory("signature")
    if not hmac.compare_digest(signature.lower(), creds.sign(query + body)):
        raise errors.bad_signature()
    check_timing(params, now_ms)


def ws_payload(params: Mapping[str, object]) -> str:
    """The string a WebSocket API request signs: sorted ``name=value`` pairs."""
    parts = []
    for key in sorted(params):
        if key == "signature":
            continue
        value = params[key]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{key}={text}")
    return "&".join(parts)


def verify_ws(params: Mapping[str, object], creds: Credentials, now_ms: int) -> None:
    """Authorise a WebSocket API request signed with ``apiKey``/``timestamp``/``signature``."""
    key = params.get("apiKey")
    check_api_key(str(key) if key is not None else None, creds)
    signature = params.get("signature")
    if not signature:
        raise errors.mandatory("signature")
    if not hmac.compare_digest(str(signature).lower(), creds.sign(ws_payload(params))):
        raise errors.bad_signature()
    check_timing(Params.of(params), now_ms)
