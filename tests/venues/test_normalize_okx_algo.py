"""OKX algo (trigger) order rows are not order evidence: skipped with a reason, never
REJECTED (issue 7 item 7)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from gridledger.domain.instrument import Instrument
from gridledger.domain.types import OrderStatus
from gridledger.ledger.evidence import OrderEvidence
from gridledger.venues import parse_message, parse_okx
from gridledger.venues.okx.parse import ALGO_SKIP

SPOT = Instrument.from_symbol("BTC/USDT")

# GET /api/v5/trade/orders-algo-pending row (OKX docs), as also pushed on orders-algo.
ALGO_ROW: dict[str, Any] = {
    "activePx": "",
    "actualPx": "",
    "actualSide": "buy",
    "actualSz": "0",
    "algoClOrdId": "",
    "algoId": "681096944655273984",
    "amendPxOnTriggerType": "0",
    "attachAlgoOrds": [],
    "cTime": "1708658165774",
    "callbackRatio": "",
    "callbackSpread": "",
    "ccy": "",
    "clOrdId": "",
    "closeFraction": "",
    "failCode": "0",
    "instId": "BTC-USDT",
    "instType": "SPOT",
    "last": "51014.6",
    "lever": "",
    "moveTriggerPx": "",
    "ordId": "",
    "ordIdList": [],
    "ordPx": "-1",
    "ordType": "conditional",
    "posSide": "net",
    "pxLimit": "",
    "pxSpread": "",
    "pxVar": "",
    "quickMgnType": "",
    "reduceOnly": "false",
    "side": "buy",
    "slOrdPx": "",
    "slTriggerPx": "",
    "slTriggerPxType": "",
    "state": "live",
    "sz": "10",
    "szLimit": "",
    "tag": "",
    "tdMode": "cash",
    "tgtCcy": "quote_ccy",
    "timeInterval": "",
    "tpOrdPx": "-1",
    "tpTriggerPx": "100000",
    "tpTriggerPxType": "last",
    "triggerPx": "",
    "triggerPxType": "",
    "triggerTime": "",
    "uTime": "1708658165774",
}


def rest(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"code": "0", "data": list(rows), "msg": ""}


@pytest.mark.parametrize(
    "payload",
    [
        rest(ALGO_ROW),
        rest({**ALGO_ROW, "ordId": None}),
        rest({**ALGO_ROW, "state": "effective", "ordId": "681096944655273999"}),  # triggered: its own state names
        rest({**ALGO_ROW, "ordType": "trigger", "state": "partially_effective"}),
        {"arg": {"channel": "orders", "instType": "SPOT"}, "data": [ALGO_ROW]},
        {"arg": {"channel": "orders-algo", "instType": "ANY"}, "data": [ALGO_ROW]},
        ALGO_ROW,  # a bare row, e.g. the info of a ccxt order
        rest({"algoId": "681096944655273984", "clOrdId": "", "algoClOrdId": "", "sCode": "0", "sMsg": "", "tag": ""}),
    ],
    ids=["rest-pending", "ordId-null", "effective", "trigger", "orders-push", "orders-algo-push", "bare", "place-ack"],
)
def test_algo_rows_are_skipped_not_rejected(payload: dict[str, Any]) -> None:
    for fmt in ("okx", "auto"):
        parsed = parse_message(copy.deepcopy(payload), fmt, SPOT)
        assert parsed.items == ()
        assert parsed.skipped is not None and "algo" in parsed.skipped


def test_algo_rows_beside_orders_leave_the_orders_alone() -> None:
    order = {
        **ALGO_ROW,
        "algoId": "",
        "ordId": "1752588852617379840",
        "ordType": "limit",
        "state": "filled",
        "px": "50000",
        "sz": "0.001",
        "tgtCcy": "",
        "accFillSz": "0.001",
        "avgPx": "50000",
        "fee": "-0.05",
        "feeCcy": "USDT",
    }
    parsed = parse_okx(rest(ALGO_ROW, order), SPOT)
    (item,) = parsed.items
    assert isinstance(item, OrderEvidence) and item.status is OrderStatus.FILLED and item.filled == D("0.001")


def test_an_order_placed_by_a_triggered_algo_is_still_order_evidence() -> None:
    child = {
        **ALGO_ROW,
        "ordId": "1752588852617379841",
        "ordType": "market",
        "state": "filled",
        "sz": "0.001",
        "tgtCcy": "",
        "accFillSz": "0.001",
        "avgPx": "51000",
        "fee": "-0.051",
        "feeCcy": "USDT",
        "px": "",
    }
    (item,) = parse_okx(rest(child), SPOT).items
    assert isinstance(item, OrderEvidence) and item.order_id == "1752588852617379841"


def test_a_failed_algo_ack_keeps_its_error_text() -> None:
    parsed = parse_okx(rest({"algoId": "", "sCode": "51000", "sMsg": "Parameter triggerPx error"}), SPOT)
    assert parsed.items == () and "51000" in (parsed.skipped or "")


def test_replay_counts_algo_rows_as_skipped(tmp_path: Path) -> None:
    config = tmp_path / "grid.toml"
    config.write_text('[grid]\nid = "cli1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "50"\n')
    events = tmp_path / "okx.jsonl"
    events.write_text(
        json.dumps(rest(ALGO_ROW)) + "\n" + json.dumps({"arg": {"channel": "orders"}, "data": [ALGO_ROW]}) + "\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "replay", str(events), "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    state = json.loads(proc.stdout)
    assert state["rejections"] == [] and state["outcomes"].get("REJECTED", 0) == 0
    assert state["skipped"] == {ALGO_SKIP: 2}
