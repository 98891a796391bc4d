"""Issue 11: ``[grid] direction`` and ``[grid] pivot``.

long (the default), short and neutral; a neutral grid's pivot is a level price; short and
neutral need a perpetual symbol (spot has no borrowing). Bad values are one clear error
naming the key: through parse_config here, and on the real CLI (one stderr line, exit 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from gridledger.config import ConfigError, parse_config
from gridledger.domain.types import Direction, GridDirection

PERP = {"id": "g1", "symbol": "BTC/USDT:USDT", "anchor": "30000", "interval": "100"}


def grid(**values: object) -> dict:
    return {"grid": {**PERP, **values}}


def test_direction_defaults_to_long_and_long_is_unchanged() -> None:
    cfg = parse_config(grid(symbol="BTC/USDT"))
    spec = cfg.grid.spec()
    assert (cfg.grid.direction, spec.direction, spec.pivot) == ("long", GridDirection.LONG, None)
    params = cfg.strategy.params(spec)
    assert (params.direction, params.pivot) == (GridDirection.LONG, None)


def test_short_perpetual_grid() -> None:
    cfg = parse_config(grid(direction="short"))
    spec = cfg.grid.spec()
    assert spec.direction is GridDirection.SHORT and spec.level_direction(-7) is Direction.SHORT
    assert cfg.strategy.params(spec).direction is GridDirection.SHORT


@pytest.mark.parametrize(("pivot", "level"), [("30500", 5), ("30000", 0), ("29000", -10), (29900, -1)])
def test_neutral_grid_takes_its_pivot_price_as_a_level(pivot: object, level: int) -> None:
    cfg = parse_config(grid(direction="neutral", pivot=pivot))
    spec = cfg.grid.spec()
    assert (spec.direction, spec.pivot) == (GridDirection.NEUTRAL, level)
    assert spec.level_direction(level - 1) is Direction.LONG
    assert spec.level_direction(level) is None
    assert spec.level_direction(level + 1) is Direction.SHORT
    assert cfg.strategy.params(spec).pivot == level


BAD = {
    "short on spot": (
        grid(symbol="BTC/USDT", direction="short"),
        "grid.direction: short and neutral grids need a perpetual symbol such as BTC/USDT:USDT; spot has no borrowing",
    ),
    "neutral on spot": (grid(symbol="ETH/BTC", direction="neutral", pivot="30000"), "grid.direction: short and"),
    "unknown direction": (grid(direction="sideways"), "grid.direction"),
    "direction not a string": (grid(direction=1), "grid.direction"),
    "neutral without pivot": (grid(direction="neutral"), "grid.pivot: a neutral grid needs pivot"),
    "pivot off the levels": (grid(direction="neutral", pivot="30050"), "grid.pivot: 30050 is not a level price"),
    "pivot on a long grid": (grid(pivot="30000"), "grid.pivot: only a neutral grid takes a pivot"),
    "pivot on a short grid": (grid(direction="short", pivot="30000"), "grid.pivot: only a neutral grid"),
    "pivot negative": (grid(direction="neutral", pivot="-100"), "grid.pivot"),
    "pivot huge": (grid(direction="neutral", pivot="1e999999999"), "grid.pivot"),
    "pivot nan": (grid(direction="neutral", pivot="nan"), "grid.pivot"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_direction_or_pivot_is_one_error_naming_the_key(case: str) -> None:
    data, needle = BAD[case]
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    text = str(err.value)
    assert needle in text and "\n" not in text, text


def test_the_pivot_error_names_the_nearest_levels() -> None:
    with pytest.raises(ConfigError, match="nearest levels are 30000 and 30100"):
        parse_config(grid(direction="neutral", pivot="30050"))


# --------------------------------------------------------------------------- the CLI
def _run(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "grid.toml"
    config.write_text(body)
    events = tmp_path / "events.jsonl"
    events.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLEDGER_")}
    return subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "replay", str(events), "--config", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_cli_refuses_a_short_spot_grid_in_one_line(tmp_path: Path) -> None:
    done = _run(
        tmp_path, '[grid]\nid = "g1"\nsymbol = "BTC/USDT"\nanchor = 30000\ninterval = 100\ndirection = "short"\n'
    )
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "grid.direction" in lines[0], done.stderr
    assert "spot has no borrowing" in lines[0]


def test_cli_refuses_a_neutral_grid_without_pivot_in_one_line(tmp_path: Path) -> None:
    done = _run(
        tmp_path, '[grid]\nid = "g1"\nsymbol = "BTC/USDT:USDT"\nanchor = 30000\ninterval = 100\ndirection = "neutral"\n'
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "grid.pivot" in lines[0], done.stderr


def test_cli_accepts_a_neutral_perpetual_grid(tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        '[grid]\nid = "g1"\nsymbol = "BTC/USDT:USDT"\nanchor = 30000\ninterval = 100\n'
        'direction = "neutral"\npivot = 30500\n',
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_pivot_is_exact_decimal() -> None:
    # A TOML float reaches the config as Decimal: 30000.1 + k * 0.1 never rounds.
    cfg = parse_config(
        {"grid": {**PERP, "anchor": D("30000.1"), "interval": D("0.1"), "direction": "neutral", "pivot": D("30000.3")}}
    )
    assert cfg.grid.spec().pivot == 2


COID = (sys.executable, "-m", "gridledger.cli", "coid", "encode")


def test_coid_encode_follows_the_grids_direction(tmp_path: Path) -> None:
    config = tmp_path / "short.toml"
    config.write_text(
        '[grid]\nid = "g1"\nsymbol = "BTC/USDT:USDT"\nanchor = 30000\ninterval = 100\ndirection = "neutral"\n'
        "pivot = 30000\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLEDGER_")}

    def encode(level: str, side: str, role: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COID, "-c", str(config), "--level", level, "--side", side, "--role", role, "--generation", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    assert encode("2", "sell", "open").returncode == 0  # a short slot opens with a sell
    assert encode("-2", "buy", "open").returncode == 0
    for args, needle in (
        (("2", "buy", "open"), "is a short slot"),
        (("-2", "sell", "open"), "is a long slot"),
        (("0", "buy", "open"), "pivot"),
    ):
        done = encode(*args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and needle in lines[0], done.stderr
