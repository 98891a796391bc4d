"""`gridledger replay` and `gridledger coid` as users run them."""

from __future__ import annotations

import itertools
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridledger.cli import app
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.testkit.synthetic import (
    binance_reports,
    ccxt_structures,
    generate_history,
    ground_truth,
    interleave,
    with_faults,
)

GRID = GridSpec("cli1", Instrument.from_symbol("BTC/USDT"), Decimal("30000"), Decimal("50"))
runner = CliRunner()


def write_config(tmp_path: Path, **grid) -> Path:
    table = {"id": "cli1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "50", **grid}
    body = "[grid]\n" + "".join(f'{k} = "{v}"\n' for k, v in table.items())
    path = tmp_path / "grid.toml"
    path.write_text(body)
    return path


def write_lines(path: Path, messages) -> Path:
    path.write_text("".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages))
    return path


@pytest.fixture(scope="module")
def history():
    return generate_history(random.Random(3), GRID, 60, levels=range(-5, 0))


def replay_json(*args: str) -> dict:
    result = runner.invoke(app, ["replay", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def expected_position(history) -> Decimal:
    return sum((t.qty for t in ground_truth(GRID, history).values()), Decimal(0))


@pytest.mark.parametrize("shape", ["binance", "ccxt"])
def test_replay_gives_the_ground_truth_and_a_second_run_changes_nothing(tmp_path, history, shape):
    rng = random.Random(9)
    if shape == "binance":
        ids = itertools.count(1)
        streams = [binance_reports(GRID, o, ids) for o in history]
    else:
        streams = [ccxt_structures(GRID, o) for o in history]
    messages = with_faults(
        rng, interleave(rng, streams), duplicate_p=0.3, reorder_window=5, replay_every=40, replay_last=10
    )
    events = write_lines(tmp_path / "events.jsonl", messages)
    config = write_config(tmp_path)
    db = tmp_path / "j.db"
    first = replay_json(str(events), "--config", str(config), "--db", str(db))
    truth = ground_truth(GRID, history)
    assert Decimal(first["position"]) == expected_position(history)
    slots = {s["level"]: s for s in first["slots"]}
    for level, t in truth.items():
        assert Decimal(slots[level]["qty"]) == t.qty and Decimal(slots[level]["realized_pnl"]) == t.realized
    assert first["outcomes"]["APPLIED"] > 0 and first["outcomes"]["REJECTED"] == 0
    assert set(first) >= {"symbol", "position", "realized_pnl", "fees", "slots", "outcomes"}
    for slot in first["slots"]:
        assert set(slot) >= {"level", "price", "qty", "cost", "realized_pnl", "status"}
        assert all(isinstance(slot[k], str) for k in ("price", "qty", "cost", "realized_pnl"))
    second = replay_json(str(events), "--config", str(config), "--db", str(db))
    assert {k: v for k, v in second["outcomes"].items() if v}.keys() <= {"DUPLICATE", "STALE"}
    for key in ("position", "realized_pnl", "fees", "slots"):
        assert second[key] == first[key]
    # Without --db the file replays in memory and gives the same state.
    memory = replay_json(str(events), "--config", str(config), "--format", shape if shape == "ccxt" else "binance-spot")
    assert memory["position"] == first["position"] and memory["slots"] == first["slots"]


def test_bad_lines_are_rejected_with_their_line_numbers_and_the_replay_goes_on(tmp_path, history):
    good = ccxt_structures(GRID, history[0])
    order = good[-1]["order"]
    lines = [
        good[0],
        "{not json",
        {"kind": "order", "order": {**order, "symbol": "ETH/USDT"}},
        {"kind": "order", "order": {**order, "filled": "NaN"}},
        {"kind": "order", "order": {**order, "amount": "-1"}},
        *good[1:],
    ]
    events = write_lines(tmp_path / "bad.jsonl", lines)
    out = replay_json(str(events), "--config", str(write_config(tmp_path)))
    rejected = {r["line"]: r["reason"] for r in out["rejections"]}
    assert set(rejected) == {2, 3, 4, 5}
    assert "not JSON" in rejected[2]
    assert "ETH/USDT" in rejected[3]
    assert "NaN" in rejected[4] or "finite" in rejected[4]
    assert "negative" in rejected[5]
    clean = replay_json(str(write_lines(tmp_path / "clean.jsonl", good)), "--config", str(write_config(tmp_path)))
    assert out["position"] == clean["position"] and out["slots"] == clean["slots"]
    assert out["outcomes"]["REJECTED"] == 4


def test_replay_table_output_and_errors(tmp_path, history):
    events = write_lines(tmp_path / "e.jsonl", ccxt_structures(GRID, history[0]))
    result = runner.invoke(app, ["replay", str(events), "--config", str(write_config(tmp_path))])
    assert result.exit_code == 0 and "position" in result.stdout and "outcomes" in result.stdout
    result = runner.invoke(app, ["replay", str(tmp_path / "missing.jsonl"), "--config", str(write_config(tmp_path))])
    assert result.exit_code == 2 and "not found" in result.output
    bad = write_config(tmp_path, interval="zero")
    result = runner.invoke(app, ["replay", str(events), "--config", str(bad)])
    assert result.exit_code == 2 and "grid.interval" in result.output
    (tmp_path / "extra.toml").write_text('[grid]\nid="a"\nsymbol="BTC/USDT"\nanchor="1"\ninterval="1"\ncolour="red"\n')
    result = runner.invoke(app, ["replay", str(events), "--config", str(tmp_path / "extra.toml")])
    assert result.exit_code == 2 and "grid.colour: unknown key" in result.output
    (tmp_path / "nan.toml").write_text('[grid]\nid="a"\nsymbol="BTC/USDT"\nanchor="nan"\ninterval="1"\n')
    result = runner.invoke(app, ["replay", str(events), "--config", str(tmp_path / "nan.toml")])
    assert result.exit_code == 2 and "grid.anchor" in result.output
    # A journal made for another grid is refused, not mixed.
    db = tmp_path / "j.db"
    assert (
        runner.invoke(app, ["replay", str(events), "--config", str(write_config(tmp_path)), "--db", str(db)]).exit_code
        == 0
    )
    other = write_config(tmp_path, anchor="31000")
    result = runner.invoke(app, ["replay", str(events), "--config", str(other), "--db", str(db)])
    assert result.exit_code == 2 and "anchor" in result.output


def test_coid_commands(tmp_path):
    config = write_config(tmp_path)
    result = runner.invoke(
        app,
        [
            "coid",
            "encode",
            "--config",
            str(config),
            "--level",
            "-3",
            "--side",
            "sell",
            "--role",
            "close",
            "--generation",
            "12",
        ],
    )
    assert result.exit_code == 0
    cid = result.stdout.strip()
    result = runner.invoke(app, ["coid", "decode", cid, "--json"])
    assert json.loads(result.stdout) == {
        "grid_id": "cli1",
        "level": -3,
        "side": "sell",
        "role": "close",
        "generation": 12,
    }
    result = runner.invoke(app, ["coid", "decode", "web_12345"])
    assert result.exit_code == 1 and "not a gridledger client order id" in result.output
