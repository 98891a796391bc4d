"""The [risk] table: every number ranged, errors name the key, sides checked against the grid."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from gridledger.config import ConfigError, RiskConfig, load_config, parse_config
from gridledger.config_types import model_ranges

SPOT = {"id": "r1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"}
PERP = {**SPOT, "symbol": "BTC/USDT:USDT"}


def _cfg(risk, grid=SPOT):
    return parse_config({"grid": grid, "risk": risk})


def test_every_numeric_risk_key_has_a_range():
    ranged = {name for name, _, _ in model_ranges(RiskConfig)}
    numeric = {
        name
        for name, info in RiskConfig.model_fields.items()
        if any(t in repr(info.annotation) for t in ("Decimal", "float", "int"))
    }
    assert (
        numeric
        == ranged
        == {
            "stop_loss_price",
            "take_profit_price",
            "stop_loss_price_above",
            "max_position",
            "max_drawdown",
            "exit_slippage",
            "exit_reprice_s",
        }
    )


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("stop_loss_price", "0"),
        ("take_profit_price", "1e13"),
        ("max_position", "-1"),
        ("max_drawdown", "0"),
        ("exit_slippage", "0.5"),
        ("exit_slippage", "-0.001"),
        ("exit_reprice_s", "0.5"),
        ("stop_loss_price", "nan"),
        ("max_position", "1e999999999"),
    ],
)
def test_out_of_range_values_are_one_line_naming_the_key(key, bad):
    with pytest.raises(ConfigError, match=rf"risk\.{key}:") as info:
        _cfg({key: bad})
    assert "\n" not in str(info.value)


def test_unknown_risk_key():
    with pytest.raises(ConfigError, match=r"risk\.stop_loss: unknown key"):
        _cfg({"stop_loss": "29000"})


def test_defaults_are_no_limits():
    cfg = _cfg({})
    limits = cfg.risk.limits()
    assert not limits.exits and limits.max_position is None and limits.exit_slippage == D("0.005")


def test_sides_follow_the_direction():
    assert _cfg({"stop_loss_price": "29000", "take_profit_price": "31000"}).risk.stop_loss_price == D(29000)
    with pytest.raises(ConfigError, match=r"risk\.stop_loss_price: a long grid stops below"):
        _cfg({"stop_loss_price": "31000", "take_profit_price": "29000"})
    short = {**PERP, "direction": "short"}
    assert _cfg({"stop_loss_price": "31000", "take_profit_price": "29000"}, short).risk.take_profit_price == D(29000)
    with pytest.raises(ConfigError, match=r"risk\.stop_loss_price: a short grid stops above"):
        _cfg({"stop_loss_price": "29000", "take_profit_price": "31000"}, short)


def test_neutral_has_two_stops_around_the_pivot_and_no_take_profit():
    neutral = {**PERP, "direction": "neutral", "pivot": "30000"}
    ok = _cfg({"stop_loss_price": "29000", "stop_loss_price_above": "31000"}, neutral)
    assert ok.risk.stop_loss_price_above == D(31000)
    with pytest.raises(ConfigError, match=r"risk\.take_profit_price: a neutral grid"):
        _cfg({"take_profit_price": "31000"}, neutral)
    with pytest.raises(ConfigError, match=r"risk\.stop_loss_price: must be below the pivot 30000"):
        _cfg({"stop_loss_price": "30100"}, neutral)
    with pytest.raises(ConfigError, match=r"risk\.stop_loss_price_above: must be above the pivot"):
        _cfg({"stop_loss_price_above": "29900"}, neutral)
    with pytest.raises(ConfigError, match=r"risk\.stop_loss_price_above: only for neutral grids"):
        _cfg({"stop_loss_price_above": "31000"})


def test_toml_floats_are_read_exactly(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(
        '[grid]\nid = "r1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "100"\n'
        "[risk]\nstop_loss_price = 29000.1\nmax_position = 0.1\nexit_slippage = 0.003\n"
    )
    cfg = load_config(path)
    assert cfg.risk.stop_loss_price == D("29000.1") and cfg.risk.max_position == D("0.1")
    assert cfg.risk.exit_slippage == D("0.003")
