"""OKX v5: ``orders`` and ``fills`` channel pushes, trade REST answers and acks."""

from __future__ import annotations

from gridledger.venues.okx.detect import DETECTORS
from gridledger.venues.okx.parse import parse_okx
from gridledger.venues.venue import Venue

__all__ = ["VENUE", "parse_okx"]

# OKX API keys come with a passphrase; fills arrive on their own channel.
VENUE = Venue(
    "okx",
    parse_okx,
    DETECTORS,
    markets=frozenset({"spot", "linear"}),
    ccxt_ids=("okx",),
    needs_passphrase=True,
)
