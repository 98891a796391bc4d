"""A paper session on a short or neutral perpetual grid reports direction-aware comparison
figures (backtest/paper_series.py, paper/report.py): the short grid against holding the
short, the neutral grid's benchmark left out with the reason, the plot's per-level
unrealized PnL signed per slot; a long spot session's figures are as before."""

from __future__ import annotations

import io
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from rich.console import Console

from gridledger.backtest.benchmark import NEUTRAL_REASON
from gridledger.backtest.paper_series import paper_figures
from gridledger.config import load_config
from gridledger.paper.perp import perp_session_config
from gridledger.paper.report import print_report, report_json
from gridledger.paper.session import run_paper
from gridledger.paper.settings import paper_settings

D = Decimal
BUNDLED = Path(str(files("gridledger") / "data" / "paper.toml"))


@cache
def _session(direction: str) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    cfg = load_config(BUNDLED)
    ps = paper_settings({**cfg.paper, "duration": "3h"})
    if direction != "spot":
        cfg = perp_session_config(cfg, market="perp", direction=direction, leverage=2, start_price=D("30000"))
    result = run_paper(cfg, ps)
    fields, series = paper_figures(cfg, ps, result)
    doc = report_json(result, seed=ps.seed, chaos=False, duration="3h", figures=fields)
    return fields, series, doc


def _text(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    print_report(Console(file=out, width=200, color_system=None), doc)
    return out.getvalue()


def _move(series: Any) -> float:
    return float(series.price[-1]) / float(series.price[0]) - 1


def test_a_short_session_is_compared_with_holding_the_short() -> None:
    fields, series, doc = _session("short")
    bh = fields["buy_and_hold"]
    assert bh["holding"] == "short"
    assert bh["return_pct"] == f"{-_move(series) * 100:.3f}"
    text = _text(doc)
    assert "sell and hold (short)" in text and "buy and hold" not in text


def test_a_short_session_s_level_pnl_gains_as_the_price_falls() -> None:
    _, series, doc = _session("short")
    rows = {lv["level"]: lv for lv in doc["levels"]}
    last = float(D(doc["last_price"]))
    assert any(D(r["qty"]) > 0 for r in rows.values()), "no short held at the end: the test proves nothing"
    for level, _, _, unrealized in series.level_pnl:
        row = rows[level]
        assert row["direction"] == "short"
        assert abs(unrealized - (float(D(row["cost"])) - float(D(row["qty"])) * last)) < 1e-6
    # Summed, the page's levels are the report's unrealized PnL (float, to the cent).
    assert abs(sum(u for *_, u in series.level_pnl) - float(D(doc["unrealized_pnl"]))) < 0.01


def test_a_neutral_session_leaves_the_benchmark_out_and_says_why() -> None:
    fields, _, doc = _session("neutral")
    assert fields["buy_and_hold"]["return_pct"] is None
    assert fields["buy_and_hold"]["omitted"] == NEUTRAL_REASON
    text = _text(doc)
    assert "hold benchmark" in text and "neutral grid starts flat" in text and "buy and hold" not in text


def test_a_long_spot_session_reads_as_before() -> None:
    fields, series, doc = _session("spot")
    assert set(fields["buy_and_hold"]) == {"return_pct", "pnl_on_capital"}
    assert fields["buy_and_hold"]["return_pct"] == f"{_move(series) * 100:.3f}"
    assert "buy and hold" in _text(doc)
