"""The daily summary of a short or neutral grid shows the signed net position, its direction
and direction-aware unrealized PnL (notify/engine_link.py, issue 11); a long grid's reads as before."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from net_grid_helpers import engine_with_inventory

from gridledger.config import NotifyConfig
from gridledger.notify import Message, Notifier, Summary, ThreadedSender
from gridledger.notify.engine_link import engine_summary

T0 = 1_767_225_600_000


def _summary_text(tmp_path: Path, direction: str) -> tuple[str, Summary]:
    engine = engine_with_inventory(tmp_path, direction)
    try:
        n = Notifier(
            NotifyConfig(kinds=("summary",)),
            ThreadedSender(lambda m: isinstance(m, Message), 10),
            grid_id="p1",
            symbol=engine.symbol,
            now_ms=lambda: T0,
        )
        # What watch_engine wires (without attaching to the bus, which needs a running loop).
        n.set_sources(summary=lambda: engine_summary(engine), price_step=lambda: None)
        return n.summary_text() or "", engine_summary(engine)
    finally:
        engine.journal.close()


def test_a_short_grid_summary_shows_the_signed_net_position_and_its_gain(tmp_path: Path) -> None:
    text, summary = _summary_text(tmp_path, "short")
    # Sold 0.006 at 30100, price 30000: the short slot is 0.6 USDT in profit.
    assert summary.position == D("-0.006") and summary.direction == "short"
    assert summary.unrealized_pnl == D("0.6")
    assert "position -0.006 net (short grid), round trips 0" in text
    assert "unrealized 0.6" in text


def test_a_neutral_grid_summary_nets_its_long_and_short_slots(tmp_path: Path) -> None:
    text, summary = _summary_text(tmp_path, "neutral")
    # Long 0.006 bought at 29900 (+0.6 at 30000), short 0.004 sold at 30100 (+0.4).
    assert summary.position == D("0.002") and summary.unrealized_pnl == D("1.0")
    assert "position 0.002 net (neutral grid)" in text


def test_a_long_grid_summary_is_unchanged(tmp_path: Path) -> None:
    text, summary = _summary_text(tmp_path, "long")
    assert summary.direction is None
    assert "position 0.006, round trips 0" in text and "net" not in text
