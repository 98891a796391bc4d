"""Tell the format of a decoded message (``fmt="auto"``) from the venues' own rules.

Each venue declares its detection rules (``Detector``) next to its parser, as heuristics
on the keys that venue always sends (corpus README §2 and the corpus files). The registry
runs the rules of every venue in one defined order: by ``rank``, then by the venue's
position in the registry. Ranks in use (a new venue picks a free slot that keeps an
earlier, more specific rule from being shadowed):

- 10 an ``e`` event type of a known Binance event; 15 any other ``e`` (an error);
- 20 the Binance WebSocket-API envelope ``{"subscriptionId", "event"}``;
- 30 OKX envelopes (``arg``, ``event``, ``{"code", "data"}``);
- 40 Bybit envelopes (``topic``, ``op``, ``retCode``);
- 50-52 REST rows with an ``orderId``: Binance spot, then Bybit (its rows also have
  ``avgPrice``), then Binance USDⓈ-M; 60 a Binance spot amend answer;
- 70 ccxt unified structures; 80 bare OKX rows; 90 a Binance error body.

A list is told by its first JSON object. Anything no rule claims → ``InputError``.
Detection is pure: it only reads the payload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gridledger.domain.numbers import InputError
from gridledger.venues.common import is_map, show

__all__ = ["Claim", "Detector", "detect_with"]

Claim = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class Detector:
    """One detection rule of a venue.

    ``claims(obj)`` is True when the JSON object ``obj`` is this venue's; it may raise
    ``InputError`` to stop the search with a precise reason (an unknown Binance event type).
    """

    rank: int
    claims: Claim


def _detect_map(p: Mapping[str, Any], rules: Iterable[tuple[Claim, str]]) -> str:
    for claims, name in rules:
        if claims(p):
            return name
    raise InputError(f"cannot tell the message format of an object with keys {show(list(p)[:12], 200)}")


def detect_with(rules: Iterable[tuple[Claim, str]], payload: Any) -> str:
    """The format name of ``payload`` under ``rules``: (claim, format name) pairs, already in order."""
    if is_map(payload):
        return _detect_map(payload, rules)
    if isinstance(payload, list):
        for element in payload:
            if is_map(element):
                return _detect_map(element, rules)
        raise InputError("cannot tell the message format of a list without JSON objects")
    raise InputError(
        f"cannot tell the message format of a {type(payload).__name__} (expected a JSON object or list): {show(payload)}"
    )
