"""How an OKX v5 message is told (ranks: see ``gridledger.venues.detect``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.venues.detect import Detector


def _envelope(p: Mapping[str, Any]) -> bool:
    # ``arg`` (pushes), ``event`` (subscribe/login/notice/error), ``{"code", "data"}`` (REST
    # and WebSocket order answers).
    return "arg" in p or "event" in p or ("code" in p and "data" in p)


def _bare_row(p: Mapping[str, Any]) -> bool:
    return ("ordId" in p or "algoId" in p) and "instId" in p  # algoId: an OKX algo order row


DETECTORS = (
    Detector(30, _envelope),
    Detector(80, _bare_row),
)
