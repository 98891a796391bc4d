"""`gridledger replay` of a short or neutral perpetual grid prints the signed net position and
the direction (cli/replay_cmd.py, issue 11); a long grid's line reads as before."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import Direction, GridDirection
from gridledger.testkit.synthetic import ccxt_structures, generate_history, ground_truth

PERP = Instrument.from_symbol("BTC/USDT:USDT")
GUARD_S = 120  # a guard against a hang, not a measure of speed
CASES = {
    "short": (GridSpec("rn1", PERP, D(30000), D(50), direction=GridDirection.SHORT), range(1, 5), ""),
    "neutral": (
        GridSpec("rn1", PERP, D(30000), D(50), direction=GridDirection.NEUTRAL, pivot=0),
        (-2, -1, 1, 2),
        'pivot = "30000"\n',
    ),
    "long": (GridSpec("rn1", PERP, D(30000), D(50)), range(-4, 0), ""),
}


def _replay(tmp_path: Path, direction: str) -> tuple[str, D, D]:
    grid, levels, pivot = CASES[direction]
    hist = generate_history(random.Random(5), grid, 30, levels=levels)
    lines = [json.dumps(m) for o in hist for m in ccxt_structures(grid, o)]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "grid.toml").write_text(
        f'[grid]\nid = "rn1"\nsymbol = "BTC/USDT:USDT"\nanchor = "30000"\ninterval = "50"\n'
        f'direction = "{direction}"\n{pivot}'
    )
    done = subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "replay", "events.jsonl", "-c", "grid.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-1500:]
    truth = ground_truth(grid, hist)
    gross = sum((t.qty for t in truth.values()), D(0))
    net = sum(((-t.qty if grid.level_direction(k) is Direction.SHORT else t.qty) for k, t in truth.items()), D(0))
    return done.stdout, gross, net


def _position_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("position "))


@pytest.mark.parametrize("direction", ["short", "neutral"])
def test_replay_prints_the_signed_net_position(tmp_path: Path, direction: str) -> None:
    out, gross, net = _replay(tmp_path, direction)
    assert net != gross  # the history leaves a short slot holding something
    line = _position_line(out)
    assert line.startswith(f"position {net.normalize():f} net ({direction} grid)   realized PnL "), line


def test_replay_of_a_long_grid_prints_its_position_as_before(tmp_path: Path) -> None:
    out, gross, _net = _replay(tmp_path, "long")
    line = _position_line(out)
    assert line.startswith(f"position {gross.normalize():f}   realized PnL "), line
