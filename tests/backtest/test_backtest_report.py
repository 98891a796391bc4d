"""The backtest report's figures on a path worked out by hand (issue 9 item 4)."""

from __future__ import annotations

import csv
from decimal import Decimal

from test_backtest_engine import T0, candles, config, run  # tests/ is on the path (conftest.py)

from gridledger.backtest.report import build_report, write_fills_csv


def test_pnl_drawdown_buy_and_hold_and_the_fills_csv_on_a_hand_made_path(tmp_path):
    cfg = config(paper={"maker_fee": "0", "taker_fee": "0", "fee_mode": "quote"})
    bt = run(
        cfg,
        candles(
            [
                ("30050",) * 4,  # centre 0: a buy at 29900
                ("30050", "30050", "29900", "29900"),  # down to 29900: the buy fills (0.00501), a sell at 30000
                ("29900", "29900", "29850", "29850"),  # marked at 29850: -0.2505
                ("29850", "30000", "29850", "30000"),  # up to 30000: the sell fills, +0.501 realized
            ]
        ),
    )
    doc = build_report(bt, wall_seconds=1.0)
    assert [(f.side.value, f.price, f.qty) for f in bt.fills] == [
        ("buy", Decimal("29900.00"), Decimal("0.00501")),
        ("sell", Decimal("30000.00"), Decimal("0.00501")),
    ]
    assert Decimal(doc["realized_pnl"]) == Decimal("0.501")
    assert Decimal(doc["total_pnl"]) == Decimal(doc["realized_pnl"]) + Decimal(doc["unrealized_pnl"])
    assert doc["max_drawdown"] == {"value": "0.25", "at": "2026-01-01T00:03:00Z", "peak_at": "2026-01-01T00:00:00Z"}
    assert doc["buy_and_hold"]["return_pct"] == "-0.166"
    assert doc["round_trips"] == 1 and Decimal(doc["profit_per_round_trip"]) == Decimal("0.501")
    assert doc["capital_committed_peak"] == "299.69"  # the filled buy (149.799) and the next one resting (149.894)
    assert (doc["start"], doc["end"]) == ("2026-01-01T00:00:00Z", "2026-01-01T00:04:00Z")
    level = {lv["level"]: lv for lv in doc["levels"]}[-1]
    assert (level["buys"], level["sells"], level["round_trips"], level["qty"]) == (1, 1, 1, "0")
    rows = list(csv.DictReader((tmp_path / "f.csv").open())) if write_fills_csv(bt, tmp_path / "f.csv") else []
    assert [(r["time"], r["level"], r["side"], r["role"], r["price"], r["qty"], r["realized_pnl"]) for r in rows] == [
        ("2026-01-01T00:01:30Z", "-1", "buy", "open", "29900", "0.00501", "0"),
        ("2026-01-01T00:03:30Z", "-1", "sell", "close", "30000", "0.00501", "0.501"),
    ]
    assert rows[0]["client_id"].startswith("gl1") and T0 > 0
