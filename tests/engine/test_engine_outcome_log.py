"""Outcome logging lives in the shell (engine/outcome_log.py): the ledger counts, it does not log.

The engine's ingest and ``gridledger replay`` log each outcome through one module, so a
ledger used elsewhere (the backtest, a test) is silent, and every shell logs alike.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal as D
from pathlib import Path

import pytest
from ledger_helpers import FILLED, NEW, cid, ledger, snap

from gridledger.config import parse_config
from gridledger.engine.outcome_log import log_outcomes
from gridledger.replay import replay

B0 = cid(-1)


def test_the_ledger_counts_a_duplicate_without_logging_it(caplog: pytest.LogCaptureFixture) -> None:
    led = ledger()
    led.apply(snap(B0, "7", NEW, "0", event="1"))
    first = snap(B0, "7", FILLED, "1", event="2")
    led.apply(first)
    with caplog.at_level(logging.DEBUG, logger="gridledger"):
        again = snap(B0, "7", FILLED, "1", event="2")
        out = led.apply(again)
        assert not caplog.records  # nothing from the ledger itself
        log_outcomes([out], [again])
    assert led.counts["DUPLICATE"] == 1
    assert [r.getMessage() for r in caplog.records] == ["duplicate evidence ignored"]
    assert caplog.records[0].name == "gridledger.ledger"  # operators' filters keep working


def test_replay_logs_rejected_lines_and_outcomes_through_the_shell(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = parse_config({"grid": {"id": "r1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "50"}})
    lines = tmp_path / "in.jsonl"
    lines.write_text("not json\n" + json.dumps({"e": "executionReport", "s": "ETHUSDT"}) + "\n")
    with caplog.at_level(logging.WARNING, logger="gridledger"):
        result = replay([lines], cfg)
    rejected = [r for r in caplog.records if r.getMessage() == "evidence rejected"]
    assert len(rejected) == len(result.rejections) >= 1
    assert rejected[0].fields["line"] == 1
    assert result.ledger.position == D(0)
