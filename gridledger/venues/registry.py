"""The venue registry: one line per venue; everything that lists venues reads it.

Adding a venue = a new package ``gridledger/venues/<name>/`` declaring ``VENUE`` (a
``Venue``: its ``--format`` name, ccxt ids, parser, detection rules, ...) plus one line in
``VENUES`` below. The CLI's ``--format`` choices, ``fmt="auto"`` detection, the supported
live venues (and which need a passphrase) and the engine's evidence reader are derived
from ``VENUES`` at the time they are asked, so a test may extend it with ``monkeypatch``.

The order of ``VENUES`` is the ``--format`` order and breaks ties between detection rules
of the same rank (``gridledger.venues.detect``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridledger.venues import binance_spot, binance_usdm, bybit, ccxt_unified, okx
from gridledger.venues.detect import Claim, Detector, detect_with
from gridledger.venues.venue import MARKET_KINDS, Venue

__all__ = [
    "VENUES",
    "Detector",
    "Venue",
    "detect_format",
    "exchange_formats",
    "format_names",
    "live_exchange_ids",
    "venue_for_exchange",
    "venue_named",
]

VENUES: tuple[Venue, ...] = (
    ccxt_unified.VENUE,
    binance_spot.VENUE,
    binance_usdm.VENUE,
    okx.VENUE,
    bybit.VENUE,
)


@dataclass(frozen=True, slots=True)
class _Index:
    """Lookups built once per registry value (``VENUES`` is read on every call)."""

    venues: tuple[Venue, ...]
    by_name: dict[str, Venue]
    by_exchange: dict[str, Venue]
    rules: tuple[tuple[Claim, str], ...]  # every venue's detection rules, in the order they run


def _build(venues: tuple[Venue, ...]) -> _Index:
    by_name: dict[str, Venue] = {}
    by_exchange: dict[str, Venue] = {}
    for venue in venues:
        # A bad declaration is a programming error: fail at the first use, naming it.
        if venue.name == "auto" or venue.name in by_name:
            raise ValueError(f"venue registry: format name {venue.name!r} is reserved or declared twice")
        if not venue.markets or not venue.markets <= MARKET_KINDS:
            raise ValueError(f"venue registry: {venue.name} markets must be some of {sorted(MARKET_KINDS)}")
        by_name[venue.name] = venue
        for exchange_id in venue.ccxt_ids + venue.other_ids:
            if exchange_id in by_exchange:
                raise ValueError(f"venue registry: exchange id {exchange_id!r} is declared by two venues")
            by_exchange[exchange_id] = venue
    ranked = sorted(
        ((rank_order, rule, venue.name) for rank_order, venue in enumerate(venues) for rule in venue.detectors),
        key=lambda entry: (entry[1].rank, entry[0]),  # sorted() is stable: a venue's own order is kept
    )
    rules = tuple((rule.claims, name) for _, rule, name in ranked)
    return _Index(venues, by_name, by_exchange, rules)


_index: _Index = _build(VENUES)


def _current() -> _Index:
    global _index
    if _index.venues is not VENUES:
        _index = _build(VENUES)
    return _index


def format_names() -> tuple[str, ...]:
    """The ``--format`` names, in registry order (``auto`` is not among them)."""
    return tuple(_current().by_name)


def venue_named(name: str) -> Venue | None:
    return _current().by_name.get(name)


def venue_for_exchange(exchange_id: str) -> Venue | None:
    """The venue whose raw payloads the exchange ``exchange_id`` (ccxt id or ``sim``) sends."""
    return _current().by_exchange.get(exchange_id)


def exchange_formats() -> dict[str, str]:
    """Exchange id -> the format name of its raw payloads."""
    return {exchange_id: venue.name for exchange_id, venue in _current().by_exchange.items()}


def live_exchange_ids() -> tuple[str, ...]:
    """The ccxt ids gridledger trades on with a venue parser (the supported live venues)."""
    return tuple(exchange_id for venue in _current().venues for exchange_id in venue.ccxt_ids)


def detect_format(payload: Any) -> str:
    """The format name of ``payload`` (a decoded JSON object, or a list told by its first one)."""
    index = _index if _index.venues is VENUES else _current()  # per message: skip a call when fresh
    return detect_with(index.rules, payload)
