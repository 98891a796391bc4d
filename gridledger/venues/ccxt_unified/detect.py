"""How a ccxt unified structure is told (ranks: see ``gridledger.venues.detect``).

An order (``status``/``filled``/``remaining`` + ``amount``), a trade (``order`` +
``amount`` + ``price`` + ``takerOrMaker``/``fee``), or a wrapper ``{"kind": "order",
"order": {...}}`` / ``{"kind": "trade", "trade": {...}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.venues.detect import Detector


def _unified(p: Mapping[str, Any]) -> bool:
    kind = p.get("kind")
    if (kind == "order" or kind == "trade") and kind in p:
        return True
    if "amount" in p and ("status" in p or "filled" in p or "remaining" in p):
        return True
    return "order" in p and "amount" in p and "price" in p and ("takerOrMaker" in p or "fee" in p)


DETECTORS = (Detector(70, _unified),)
