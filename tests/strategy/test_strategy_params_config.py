"""Issue 8 item 5: one source for every strategy setting.

The rules and defaults live in ``StrategyConfig`` (the validated ``[strategy]`` table);
``GridParams`` is a plain value built from it by ``StrategyConfig.params(grid)``, the one
place the engine, the backtest and the tools get their parameters from.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from gridledger.config import ConfigError, StrategyConfig, parse_config, strategy_params
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import Direction
from gridledger.strategy import GridParams

GRID = GridSpec("g1", Instrument.from_symbol("BTC/USDT"), D("30000"), D("100"))
# Settings of the [strategy] table that are not decision parameters: the pause switch is the
# engine's, and allow_step_below_fee is live preflight's policy (the fee guard).
NOT_PARAMETERS = {"paused", "allow_step_below_fee"}


def test_params_fields_are_the_config_fields_plus_the_grids() -> None:
    # A setting added to one and not the other fails here instead of being silently dropped.
    params = {f.name for f in dataclasses.fields(GridParams)}
    config = set(StrategyConfig.model_fields) - NOT_PARAMETERS
    assert params == config | {"anchor", "interval", "direction", "pivot"}  # pivot: issue 11 (neutral grids)


def test_params_carry_every_setting_and_the_grid() -> None:
    cfg = StrategyConfig(
        buy_window=7,
        quote_per_level=D("12.5"),
        max_open_orders=9,
        post_only=False,
        post_only_retries=0,
        taker_fallback=True,
        post_only_close=True,
        hysteresis=D("0.1"),
        lower_price=D("29000"),
        upper_price=D("31000"),
    )
    p = cfg.params(GRID)
    for name in set(StrategyConfig.model_fields) - NOT_PARAMETERS:
        assert getattr(p, name) == getattr(cfg, name), name
    assert (p.anchor, p.interval, p.direction) == (GRID.anchor, GRID.interval, Direction.LONG)


def test_defaults_are_the_configs() -> None:
    p = StrategyConfig().params(GRID)
    for name, info in StrategyConfig.model_fields.items():
        if name not in NOT_PARAMETERS:
            assert getattr(p, name) == info.default, name


def test_params_hold_no_rules_of_their_own() -> None:
    # The rules are the config's; GridParams does not validate (or default) a second time.
    assert not hasattr(GridParams, "__post_init__")
    required = [f.name for f in dataclasses.fields(GridParams) if f.default is dataclasses.MISSING]
    assert "buy_window" in required and "hysteresis" in required


def test_zero_retries_without_fallback_is_a_config_error_naming_the_key() -> None:
    # Before, only GridParams knew this rule: the config loaded and the engine failed later.
    data = {
        "grid": {"id": "g1", "symbol": "BTC/USDT", "anchor": 30000, "interval": 100},
        "strategy": {"post_only_retries": 0},
    }
    with pytest.raises(ConfigError, match="post_only_retries must be >= 1 unless taker_fallback"):
        parse_config(data)
    data["strategy"]["taker_fallback"] = True
    assert parse_config(data).strategy.params(GRID).post_only_retries == 0


def test_strategy_params_validates_like_a_config() -> None:
    with pytest.raises(ValueError, match="buy_window"):
        strategy_params(D(30000), D(100), buy_window=0)
    with pytest.raises(ValueError, match="anchor"):
        strategy_params(30000.0, D(100))  # type: ignore[arg-type]  # a float: parsing was skipped
