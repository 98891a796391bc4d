"""The grid of ``--set`` values for ``gridledger sweep``: parsing them into axes, and applying
a combination to the base config through the same validation as ``load_config``.

Every ``--set`` value is validated before any work: a key that is not a config field, or a
value the config refuses, is one error line naming it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gridledger.config import Config, GridConfig, StrategyConfig, parse_config

# What --set may change: the grid, the strategy, and the simulated market ([paper]: fees,
# balances, precision). Engine, API and exchange settings do not change a backtest.
SECTIONS = ("grid", "strategy", "paper")
# The grid's identity is not a parameter (its client ids would not change the result).
NOT_SWEEPABLE = {"grid.id", "grid.symbol", "grid.account", "paper.candles_csv", "paper.trades_csv"}


@dataclass(frozen=True, slots=True)
class Axis:
    key: str  # section.field
    texts: tuple[str, ...]  # the values as given
    values: tuple[Any, ...]  # as the config reads them (TOML value syntax)


def _toml_value(text: str) -> Any:
    """``60`` -> 60, ``0.25`` -> Decimal, ``true`` -> True, ``"x"`` or ``x`` -> "x" (as TOML would read it)."""
    try:
        return tomllib.loads(f"v = {text}", parse_float=Decimal)["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_sets(sets: list[str]) -> list[Axis]:
    """``section.field=v1,v2,...`` -> axes; ValueError (one line naming the --set) when malformed."""
    from gridledger.paper.settings import PaperSettings

    fields = {
        "grid": set(GridConfig.model_fields),
        "strategy": set(StrategyConfig.model_fields),
        "paper": set(PaperSettings.model_fields),
    }
    axes: list[Axis] = []
    for item in sets:
        key, eq, rest = item.partition("=")
        key = key.strip()
        if not eq or not key or not rest.strip():
            raise ValueError(f"--set {item!r}: expected section.field=value1,value2,... e.g. grid.interval=60,120")
        section, dot, name = key.partition(".")
        if not dot or section not in SECTIONS or name not in fields[section] or key in NOT_SWEEPABLE:
            hint = (
                f"not a field of [{section}]"
                if section in SECTIONS and dot
                else f"sweepable sections are {', '.join(SECTIONS)}"
            )
            raise ValueError(f"--set {key}: not a sweepable config field ({hint})")
        if any(a.key == key for a in axes):
            raise ValueError(f"--set {key}: given twice")
        texts = tuple(t.strip() for t in rest.split(","))
        if any(not t for t in texts):
            raise ValueError(f"--set {key}={rest}: an empty value")
        axes.append(Axis(key, texts, tuple(_toml_value(t) for t in texts)))
    if not axes:
        raise ValueError("give at least one --set section.field=value1,value2,...")
    return axes


def apply(base: dict[str, Any], combo: tuple[tuple[str, Any], ...]) -> Config:
    """The base config with ``combo`` applied, validated as ``load_config`` validates a file."""
    data = {section: dict(table) if isinstance(table, dict) else table for section, table in base.items()}
    for key, value in combo:
        section, _, name = key.partition(".")
        data.setdefault(section, {})[name] = value
    return parse_config(data, "config")


def check_combo(base: dict[str, Any], combo: tuple[tuple[str, Any], ...]) -> None:
    """Everything a run would refuse, before any work: the config, the [paper] table, the grid
    against the market (ValueError/ConfigError)."""
    from gridledger.backtest.setup import setup_from_config
    from gridledger.paper.settings import paper_settings

    cfg = apply(base, combo)
    setup_from_config(cfg, paper_settings(dict(cfg.paper)))
