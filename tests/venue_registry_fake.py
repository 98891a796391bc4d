"""A venue that exists only in tests (tests/test_venue_registry.py): light imports, so a CLI
subprocess can register it before ``gridledger.cli`` builds its ``--format`` choices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.ledger.evidence import Parsed
from gridledger.venues import parse_binance_spot, registry
from gridledger.venues.detect import Detector
from gridledger.venues.venue import Venue


def parse_fake(payload: Any, instrument: Instrument, source: str = "") -> Parsed:
    """The fake venue wraps a Binance spot payload: ``{"fakeMsg": <executionReport>}``."""
    if not isinstance(payload, Mapping) or "fakeMsg" not in payload:
        raise InputError("fakex message field fakeMsg is missing")
    return parse_binance_spot(payload["fakeMsg"], instrument, source)


# A real ccxt id that no built-in venue claims, so the live settings can validate it.
FAKE = Venue(
    "fakex",
    parse_fake,
    (Detector(75, lambda p: "fakeMsg" in p),),
    markets=frozenset({"spot"}),
    ccxt_ids=("kraken",),
    needs_passphrase=True,
    order_stream_has_trades=True,
)


def install() -> None:
    """Register FAKE: the one registry line a new venue adds."""
    registry.VENUES = (*registry.VENUES, FAKE)
