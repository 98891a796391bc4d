"""Listen keys as Binance USDⓈ-M hands them out (``/fapi/v1/listenKey``).

The user-data-stream docs (USDⓈ-M "Start / Keepalive / Close User Data Stream"):

- ``POST`` creates a key valid for 60 minutes; if the account already has an active key, that
  key is returned and its validity extended (one key per account).
- ``PUT`` extends the active key by 60 minutes; with no active key it answers
  ``-1125 "This listenKey does not exist."`` (ccxt then forgets the key and re-authenticates).
- ``DELETE`` closes the key; its stream connections are closed.
- A key that was not kept alive expires: its connections receive ``listenKeyExpired`` and
  are closed.

Only the ``X-MBX-APIKEY`` header authenticates these calls (ccxt signs nothing for them).
Time comes in as arguments, so the registry is deterministic.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from gridledger.testkit.local_binance.errors import ApiError

_KEY_CHARS = 64


def no_such_key() -> ApiError:
    return ApiError(-1125, "This listenKey does not exist.")


@dataclass(slots=True)
class _Key:
    value: str
    expires_ms: int


class ListenKeys:
    """The account's one listen key, its validity, and a count of what clients did with it."""

    def __init__(self, ttl_ms: int) -> None:
        if ttl_ms <= 0:
            raise ValueError("listen key ttl must be positive")
        self.ttl_ms = ttl_ms
        self._key: _Key | None = None
        self.created = 0
        self.kept_alive = 0
        self.deleted = 0
        self.expired = 0

    def active(self, now_ms: int) -> str | None:
        """The active key, or None (never created, deleted, or expired by ``now_ms``)."""
        key = self._key
        if key is None or key.expires_ms <= now_ms:
            return None
        return key.value

    def is_valid(self, value: str, now_ms: int) -> bool:
        return value != "" and self.active(now_ms) == value

    def create(self, now_ms: int) -> str:
        """POST: the active key, extended, or a new one."""
        value = self.active(now_ms)
        if value is None:
            value = secrets.token_urlsafe(48)[:_KEY_CHARS]
            self.created += 1
        self._key = _Key(value, now_ms + self.ttl_ms)
        return value

    def keepalive(self, now_ms: int) -> str:
        """PUT: extend the active key (``-1125`` when there is none)."""
        value = self.active(now_ms)
        if value is None:
            raise no_such_key()
        assert self._key is not None
        self._key.expires_ms = now_ms + self.ttl_ms
        self.kept_alive += 1
        return value

    def delete(self, now_ms: int) -> str | None:
        """DELETE: close the active key; returns it (None when there was none)."""
        value = self.active(now_ms)
        self._key = None
        if value is not None:
            self.deleted += 1
        return value

    def expire_due(self, now_ms: int) -> str | None:
        """The key that has just run out (once), so its connections can be told and closed."""
        key = self._key
        if key is None or key.expires_ms > now_ms:
            return None
        self._key = None
        self.expired += 1
        return key.value

    def force_expire(self) -> str | None:
        """End the key now (a test's stand-in for 60 minutes without keepalive)."""
        key, self._key = self._key, None
        if key is None:
            return None
        self.expired += 1
        return key.value
