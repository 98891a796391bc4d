"""The [perp] table (config_perp.py): ranged numbers, one-line errors naming the key, and a
[perp] table on a spot grid refused by `gridledger live` (one line, exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from gridledger.config import ConfigError, parse_config
from gridledger.config_perp import PerpConfig
from gridledger.config_types import model_ranges

PERP_GRID = {"id": "p1", "symbol": "BTC/USDT:USDT", "anchor": "30000", "interval": "100"}


def test_every_numeric_perp_key_has_a_range() -> None:
    ranged = {name for name, _, _ in model_ranges(PerpConfig)}
    numeric = {
        name
        for name, info in PerpConfig.model_fields.items()
        if any(t in repr(info.annotation) for t in ("Decimal", "float", "int"))
    }
    assert numeric == ranged


def test_defaults_and_values() -> None:
    cfg = parse_config({"grid": PERP_GRID, "perp": {"leverage": 5, "margin_mode": "isolated", "max_margin_ratio": 0.6}})
    assert (cfg.perp.leverage, cfg.perp.margin_mode, cfg.perp.max_margin_ratio) == (5, "isolated", D("0.6"))
    assert cfg.perp.resume_ratio == D("0.6")
    assert parse_config({"grid": PERP_GRID}).perp == PerpConfig()


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"leverage": 0}, "perp.leverage"),
        ({"leverage": 126}, "perp.leverage"),
        ({"margin_mode": "portfolio"}, "perp.margin_mode"),
        ({"max_margin_ratio": "1.5"}, "perp.max_margin_ratio"),
        ({"max_margin_ratio": "0"}, "perp.max_margin_ratio"),
        ({"max_margin_ratio": "0.5", "resume_margin_ratio": "0.6"}, "resume_margin_ratio must not be above"),
        ({"funding_poll_s": 1}, "perp.funding_poll_s"),
        ({"margin_poll_s": "inf"}, "perp.margin_poll_s"),
        ({"funding_page": 1001}, "perp.funding_page"),
        ({"levarage": 3}, "perp.levarage: unknown key"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(table: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"grid": PERP_GRID, "perp": table})
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_live_refuses_a_perp_table_on_a_spot_grid(tmp_path: Path) -> None:
    cfg = tmp_path / "spot.toml"
    cfg.write_text(
        '[grid]\nid = "s1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "100"\n'
        '[perp]\nleverage = 3\n[exchange]\nid = "binance"\nendpoint = "http://127.0.0.1:9"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLEDGER_")}
    env.update(GRIDLEDGER_API_KEY="key-abcdefgh", GRIDLEDGER_API_SECRET="secret-abcdefgh")
    done = subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "live", "-c", str(cfg), "--db", str(tmp_path / "j.db")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("error: ")
        and "perp: the [perp] table is for perpetual symbols" in lines[0]
    )
    assert not (tmp_path / "j.db").exists()  # nothing opened, nothing sent
