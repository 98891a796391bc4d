"""The config loader (config.load_config / parse_config) directly: what tests/test_config.py
leaves out. A file that cannot be read, is not TOML, has an unknown or a missing key is one
ConfigError naming the file and the key; a minimal file gets every default.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridledger.config import ConfigError, load_config, parse_config

MINIMAL = '[grid]\nid = "c1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "100"\n'


def test_a_minimal_file_loads_with_every_default(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL)
    cfg = load_config(path)
    assert cfg == parse_config({"grid": {"id": "c1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"}})
    spec = cfg.grid.spec()
    assert (spec.grid_id, spec.symbol, spec.anchor, spec.interval) == (
        "c1",
        "BTC/USDT",
        Decimal("30000"),
        Decimal("100"),
    )
    assert cfg.paper == {} and cfg.exchange == {}  # validated later by their own commands


def test_a_missing_file_is_one_line_naming_it(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=f"^cannot read config {path}: No such file") as err:
        load_config(path)
    assert "\n" not in str(err.value)


def test_a_file_that_is_not_toml_names_the_file_and_the_place(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL + "anchor = \n")
    with pytest.raises(ConfigError, match=rf"^{path}: not valid TOML: .*line 6"):
        load_config(path)


def test_an_unknown_key_is_named_with_its_table(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL + 'anchr = "1"\n[engine]\nreconcile_evry_s = 5\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ")
    assert "grid.anchr: unknown key" in text and "engine.reconcile_evry_s: unknown key" in text
    assert "\n" not in text  # several problems, one line


def test_missing_keys_are_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[grid]\nid = "c1"\nsymbol = "BTC/USDT"\n')
    with pytest.raises(ConfigError, match=r"grid\.anchor: required key is missing; grid\.interval: required key"):
        load_config(path)
    path.write_text("[strategy]\n")
    with pytest.raises(ConfigError, match="grid: required key is missing"):
        load_config(path)


def test_parse_config_names_its_origin():
    with pytest.raises(ConfigError, match=r"^embedded: grid: required key is missing"):
        parse_config({}, "embedded")
