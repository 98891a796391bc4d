"""Numbers a venue would never send, on every raw format, through the parsers, the ledger and
``gridledger replay`` (issue 7 items 3 and 4).

- non-ASCII digits, whitespace, underscores, hex, out-of-range exponents, too many digits:
  REJECTED naming the field;
- a trade at price 0 or 1e-40: REJECTED naming the price field;
- 40-decimal amounts are kept exactly (no rounding to 28 digits);
- a fill worth 1e10 quote is applied exactly and replay goes on past it;
- absurd timestamps (1E+5000, 1E+999999, 5000-digit ints) and a 5 MB junk line are REJECTED
  with a short reason, and the line after them is APPLIED, also on a rerun.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal as D
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from venue_messages import FIELDS, FORMATS, INSTRUMENT, fill_message

from gridledger.domain.coid import ClientId, encode
from gridledger.domain.grid import GridSpec
from gridledger.domain.numbers import InputError
from gridledger.domain.types import Role, Side
from gridledger.ledger.evidence import TradeEvidence
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.outcomes import OutcomeKind
from gridledger.venues import parse_message

BUY = encode(ClientId("cli1", -1, Side.BUY, Role.OPEN, 0))
SELL = encode(ClientId("cli1", -1, Side.SELL, Role.CLOSE, 1))
FORTY = "0.1234567890123456789012345678901234567891"  # 40 significant digits


def grid_for(fmt: str) -> GridSpec:
    return GridSpec("cli1", INSTRUMENT[fmt], D("30000"), D("50"))


def message(fmt: str, **over: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(client_id=BUY, order_id="1001", trade_id="501", side="buy", qty="0.001", price="29950")
    args.update(over)
    return fill_message(fmt, **args)


def parse(fmt: str, msg: Any, via_auto: bool = False):
    return parse_message(json.loads(json.dumps(msg), parse_float=D), "auto" if via_auto else fmt, INSTRUMENT[fmt])


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_plain_fill_parses_on_every_format(fmt: str) -> None:
    trades = [i for i in parse(fmt, message(fmt), via_auto=True).items if isinstance(i, TradeEvidence)]
    assert [(t.amount, t.price) for t in trades] == [(D("0.001"), D("29950"))]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "bad, why",
    [
        ("١٢", "plain decimal"),
        (" 0.001", "plain decimal"),
        ("0.001 ", "plain decimal"),
        ("1_000", "plain decimal"),
        ("0x10", "not a number"),
        ("1e-41", "out of range"),
        ("1E+5000", "out of range"),
        ("0." + "1" * 41, "significant digits"),
    ],
)
def test_hostile_quantities_are_rejected_naming_the_field(fmt: str, bad: str, why: str) -> None:
    with pytest.raises(InputError, match=f"{FIELDS[fmt]['qty']}.*{why}"):
        parse(fmt, message(fmt, qty=bad), via_auto=True)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bad", ["0", "1e-40", "١٢", " 29950", "-29950"])
def test_hostile_prices_are_rejected_naming_the_price_field(fmt: str, bad: str) -> None:
    with pytest.raises(InputError, match=FIELDS[fmt]["price"]):
        parse(fmt, message(fmt, price=bad), via_auto=True)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "bad",
    [D("1E+5000"), D("1E+999999"), "1E+5000", "1" * 5000, 10**4000, -1, 10**13, D("1.5"), "١٧٠٠٠٠٠٠٠٠٠٠٠"],
    ids=[
        "dec-1E+5000",
        "dec-1E+999999",
        "str-1E+5000",
        "str-5000-digits",
        "int-4000-digits",
        "negative",
        "year-2286",
        "fraction",
        "arabic",
    ],
)
def test_hostile_timestamps_are_rejected_naming_the_field(fmt: str, bad: Any) -> None:
    msg = message(fmt, ts=bad)
    with pytest.raises(InputError, match=FIELDS[fmt]["ts"]) as err:
        parse_message(msg, fmt, INSTRUMENT[fmt])  # the decoded message as json.loads makes it
    assert len(str(err.value)) < 300


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_rejection_quotes_only_a_short_prefix_of_a_huge_value(fmt: str) -> None:
    with pytest.raises(InputError) as err:
        parse(fmt, message(fmt, price="9" * 5_000_000))
    assert len(str(err.value)) < 300


@pytest.mark.parametrize("fmt", FORMATS)
def test_forty_decimal_amounts_are_kept_exactly(fmt: str) -> None:
    ledger = Ledger(grid_for(fmt))
    parsed = parse(fmt, message(fmt, qty=FORTY, price="29950.123456789"), via_auto=True)
    trade = next(i for i in parsed.items if isinstance(i, TradeEvidence))
    exact_cost = Fraction(D(FORTY)) * Fraction(D("29950.123456789"))
    assert trade.amount == D(FORTY) and Fraction(trade.cost) == exact_cost  # not rounded to 28 digits
    outcomes = ledger.apply_all(parsed.items)
    assert OutcomeKind.APPLIED in {o.kind for o in outcomes}
    state = ledger.slots[-1].state
    assert state.qty == D(FORTY)  # was rounded to 28 digits
    assert Fraction(state.cost) == exact_cost
    assert ledger.position == D(FORTY)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_fill_worth_1e10_quote_is_applied_exactly(fmt: str) -> None:
    """Two BTC bought at 1e10, one sold: the cost share of the sale (1e10) has 29 digits at
    1e-18 and raised InvalidOperation in slots.contribute under the default 28-digit context."""
    ledger = Ledger(grid_for(fmt))
    buy = parse(fmt, message(fmt, qty="2", price="10000000000"))
    sell = parse(
        fmt, message(fmt, client_id=SELL, order_id="1002", trade_id="502", side="sell", qty="1", price="10000000001")
    )
    for parsed in (buy, sell):
        kinds = {o.kind for o in ledger.apply_all(parsed.items)}
        assert OutcomeKind.APPLIED in kinds and OutcomeKind.REJECTED not in kinds
    state = ledger.slots[-1].state
    assert (state.qty, state.cost, state.realized) == (D(1), D("10000000000"), D(1))


# ---------------------------------------------------------------- gridledger replay (subprocess)
def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "grid.toml"
    path.write_text('[grid]\nid = "cli1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "50"\n')
    return path


def run_replay(events: Path, config: Path, db: Path) -> tuple[dict[str, Any], str, str]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridledger.cli",
            "replay",
            str(events),
            "--config",
            str(config),
            "--db",
            str(db),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout), proc.stdout, proc.stderr


def test_replay_rejects_hostile_lines_and_applies_the_lines_after_them(tmp_path: Path) -> None:
    fmt = "bybit"
    bad_ts = json.dumps(message(fmt, trade_id="601", ts="1")).replace('"execTime": "1"', '"execTime": 1E+5000')
    slow_ts = json.dumps(message(fmt, trade_id="602", ts="1")).replace('"execTime": "1"', '"execTime": 1E+999999')
    huge_int = json.dumps(message(fmt, trade_id="603", ts="1")).replace('"execTime": "1"', '"execTime": ' + "7" * 5000)
    junk = "x" * 5_000_000
    huge_price = json.dumps(message(fmt, trade_id="604", price="9" * 5_000_000))
    arabic = json.dumps(message(fmt, trade_id="605", qty="١٢"), ensure_ascii=False)
    zero_price = json.dumps(message(fmt, trade_id="607", price="0"))
    tiny_price = json.dumps(message(fmt, trade_id="608", price="1e-40"))
    spaced = json.dumps(message(fmt, trade_id="609", qty=" 0.001"))
    good = json.dumps(message(fmt, trade_id="606", qty="0.001", price="29950"))
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join([bad_ts, slow_ts, huge_int, junk, huge_price, arabic, zero_price, tiny_price, spaced, good]) + "\n",
        encoding="utf-8",
    )
    config, db = write_config(tmp_path), tmp_path / "j.db"

    state, out, err = run_replay(events, config, db)
    assert state["outcomes"]["APPLIED"] == 1 and state["position"] == "0.001"
    assert [r["line"] for r in state["rejections"]] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    reasons = [r["reason"] for r in state["rejections"]]
    assert "execTime" in reasons[0] and "execTime" in reasons[1]
    assert "execQty" in reasons[5] and "execPrice" in reasons[6] and "execPrice" in reasons[7]
    assert "execQty" in reasons[8]
    assert all(len(r) <= 300 for r in reasons)
    assert len(out) < 20_000 and len(err) < 20_000  # a 5 MB line is never echoed
    assert db.stat().st_size < 1_000_000  # nor stored whole

    again, out, err = run_replay(events, config, db)  # a rerun is not stuck at the bad lines
    assert again["position"] == "0.001" and again["outcomes"]["APPLIED"] == 0
    assert len(again["rejections"]) == 9 and len(out) < 20_000 and len(err) < 20_000


def test_replay_goes_on_past_a_fill_worth_1e10_quote(tmp_path: Path) -> None:
    fmt = "okx"
    lines = [
        message(fmt, qty="2", price="10000000000"),
        message(fmt, client_id=SELL, order_id="1002", trade_id="502", side="sell", qty="1", price="10000000001"),
        message(
            fmt,
            client_id=encode(ClientId("cli1", -2, Side.BUY, Role.OPEN, 0)),
            order_id="1003",
            trade_id="503",
            qty="0.0010000000000000000000000000000000000001",
            price="29900",
        ),
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(m) + "\n" for m in lines))
    config, db = write_config(tmp_path), tmp_path / "j.db"
    state, _, _ = run_replay(events, config, db)
    assert state["rejections"] == []
    slots = {s["level"]: s for s in state["slots"]}
    assert (slots[-1]["qty"], slots[-1]["cost"], slots[-1]["realized_pnl"]) == ("1", "10000000000", "1")
    assert slots[-2]["qty"] == "0.0010000000000000000000000000000000000001"
    again, _, _ = run_replay(events, config, db)  # the journal reopens and recomputes exactly
    assert again["slots"] == state["slots"] and again["outcomes"].get("APPLIED", 0) == 0


def test_an_overlong_line_is_rejected_unread_and_the_next_line_applies(tmp_path: Path, monkeypatch) -> None:
    import gridledger.replay as replay_module
    from gridledger.config import load_config

    monkeypatch.setattr(replay_module, "MAX_LINE_CHARS", 1000)
    good = json.dumps(message("bybit", trade_id="701"))
    events = tmp_path / "events.jsonl"
    events.write_text('{"topic": "' + "x" * 5000 + '"}\n' + good + "\n" + "y" * 3000)  # last: no newline
    lines = list(replay_module.read_lines([events]))
    assert [(n, type(t).__name__) for _, n, t in lines] == [(1, "TooLong"), (2, "str"), (3, "TooLong")]
    assert lines[0][2].total == 5014 and lines[2][2].total == 3000 and lines[1][2] == good
    result = replay_module.replay([events], load_config(write_config(tmp_path)), db=tmp_path / "j.db")
    assert [r.line for r in result.rejections] == [1, 3]
    assert "line too long: 5014 characters" in result.rejections[0].reason
    assert result.outcomes["APPLIED"] == 1 and result.ledger.position == D("0.001")
