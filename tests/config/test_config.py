"""The config loader and the settings models, in process: ranges, number syntax, paths, text shapes.

The user-facing behaviour (one line, exit 2) is tested on the real CLI in
tests/test_config_hostile.py; here every bounded setting is checked at and past its bounds.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from gridledger.config import ConfigError, EngineConfig, GridConfig, StrategyConfig, load_config, parse_config
from gridledger.config_types import Range, model_ranges
from gridledger.live.factory import CredentialsError, credentials
from gridledger.live.settings import ExchangeSettings, exchange_settings
from gridledger.paper.settings import ChaosSettings, PaperSettings, paper_settings, parse_duration

GRID = {"id": "c1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"}
MODELS = [GridConfig, StrategyConfig, EngineConfig, PaperSettings, ChaosSettings, ExchangeSettings]
BOUNDED = [(m.__name__, name, rng, kind) for m in MODELS for name, rng, kind in model_ranges(m)]


def _adapter(model: Any, name: str) -> TypeAdapter:
    info = model.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, *info.metadata]) if info.metadata else TypeAdapter(info.annotation)


def _value(rng: Range, kind: Any, x: Decimal) -> Any:
    return int(x) if kind is int else str(x)


def _validate(model_name: str, name: str, value: Any) -> Any:
    model = next(m for m in MODELS if m.__name__ == model_name)
    adapter = _adapter(model, name)
    if name == "balances":
        return adapter.validate_python({"USDT": value})
    return adapter.validate_python(value)


def test_every_numeric_setting_has_a_range():
    """Issue 7 item 5: no number in any table is unbounded (bools and text aside)."""
    bounded = {(m, n) for m, n, _, _ in BOUNDED}
    for model in MODELS:
        for name, info in model.model_fields.items():
            text = repr(info.annotation)
            if any(t in text for t in ("int", "float", "Decimal")) and name != "options":
                assert (model.__name__, name) in bounded, f"{model.__name__}.{name} has no range"


@pytest.mark.parametrize("model_name,name,rng,kind", BOUNDED, ids=[f"{m}.{n}" for m, n, _, _ in BOUNDED])
def test_bounds_are_enforced(model_name, name, rng, kind):
    inside_lo = (
        rng.lo + (Decimal(1) if kind is int else rng.lo.copy_abs() / 1000 or Decimal("1e-13"))
        if rng.lo_open
        else rng.lo
    )
    inside_hi = rng.hi - (rng.hi / 1000) if rng.hi_open else rng.hi
    for x in (inside_lo, inside_hi):
        _validate(model_name, name, _value(rng, kind, x))
    for x in (rng.lo - 1, rng.hi * 2 + 1, *([rng.lo] if rng.lo_open else []), *([rng.hi] if rng.hi_open else [])):
        with pytest.raises(ValidationError):
            _validate(model_name, name, _value(rng, kind, x))
    for bad in ("inf", "nan", "1e999999999", " 1", "\u0661", True, float("inf"), float("nan"), Decimal("Infinity")):
        with pytest.raises(ValidationError):
            _validate(model_name, name, bad)


def test_toml_floats_reach_money_fields_exactly(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[grid]\nid = "c1"\nsymbol = "BTC/USDT"\nanchor = 30000.1\ninterval = 0.1\n[strategy]\nquote_per_level = 0.3\n'
    )
    cfg = load_config(path)
    assert cfg.grid.interval == Decimal("0.1") and cfg.grid.anchor == Decimal("30000.1")
    assert cfg.strategy.quote_per_level == Decimal("0.3")
    # A dict built in Python (tests, embedding programs) with binary floats: through repr, not float's digits.
    cfg = parse_config({"grid": {**GRID, "interval": 0.1}})
    assert cfg.grid.interval == Decimal("0.1")
    assert parse_config({"grid": GRID, "engine": {"reconcile_every_s": Decimal("2.5")}}).engine.reconcile_every_s == 2.5


def test_messages_name_the_key_and_quote_a_short_prefix_of_the_value():
    with pytest.raises(ConfigError) as exc:
        parse_config({"grid": {**GRID, "anchor": "9" * 5000}})
    text = str(exc.value)
    assert "grid.anchor" in text and len(text) < 200
    with pytest.raises(ConfigError) as exc:
        parse_config({"grid": {**GRID, "id": "x" * 5000}})
    assert len(str(exc.value)) < 300


def test_invalid_utf8_and_deep_nesting_are_config_errors(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b'[grid]\nid = "\xc3\x28"\n')
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(path)
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path)
    path.write_text("[exchange.options]\n" + "a = " + "{ b = " * 300 + "1" + " }" * 300 + "\n")
    with pytest.raises(ConfigError):
        load_config(path)  # [grid] is missing; the nesting itself must not raise anything else


def test_relative_price_files_resolve_against_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "prices.csv").write_text("timestamp_ms,open,high,low,close,volume\n")
    path = folder / "c.toml"
    path.write_text(
        '[grid]\nid = "c1"\nsymbol = "BTC/USDT"\nanchor = "1"\ninterval = "1"\n[paper]\ncandles_csv = "prices.csv"\n'
    )
    monkeypatch.chdir(tmp_path)  # elsewhere: the old code looked for ./prices.csv here
    cfg = load_config(path)
    ps = paper_settings(cfg.paper)
    assert Path(ps.candles_csv) == folder / "prices.csv"
    for bad, why in (("missing.csv", "file not found"), (".", "is a directory")):
        path.write_text(path.read_text().replace('"prices.csv"', f'"{bad}"'))
        with pytest.raises(ConfigError, match=why):
            paper_settings(load_config(path).paper)
        path.write_text(path.read_text().replace(f'"{bad}"', '"prices.csv"'))


@pytest.mark.parametrize(
    "text,ms",
    [
        ("90s", 90_000),
        ("30m", 1_800_000),
        ("12h", 43_200_000),
        ("1d", 86_400_000),
        ("2w", 1_209_600_000),
        ("1.5h", 5_400_000),
    ],
)
def test_durations_accept_weeks(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["1y", "-1d", "0s", "1e9d", "401d", "١d", ""])
def test_bad_durations_say_got_once(text):
    with pytest.raises(ConfigError) as exc:
        paper_settings({"duration": text})
    message = str(exc.value)
    assert message.startswith("[paper] duration:") and message.count("got") <= 1


def test_exchange_table_is_mandatory_and_names_the_venue():
    with pytest.raises(ConfigError, match=r"\[exchange\] table is missing"):
        exchange_settings({})
    with pytest.raises(ConfigError, match="id: required key is missing"):
        exchange_settings({"endpoint": "http://127.0.0.1:9"})
    s = exchange_settings({"id": "binance"})
    assert s.venue(sandbox=False) == "binance, REAL venue"
    assert s.venue(sandbox=True) == "binance, sandbox/testnet"
    local = exchange_settings({"id": "binance", "endpoint": "http://127.0.0.1:9"})
    assert local.venue(sandbox=False) == "binance, endpoint http://127.0.0.1:9"
    for bad in (
        {"api_key_env": ""},
        {"api_key_env": "NOT VALID"},
        {"endpoint": "http://x\n"},
        {"endpoint": "ftp://x"},
        {"journal": ""},
        {"id": "no-such-venue"},
    ):
        with pytest.raises(ConfigError):
            exchange_settings({"id": "binance", **bad})


@pytest.mark.parametrize("value", ["key\n", " key", "key ", "ke\ty", "key\r\n", "k\x01ey", "key\x7f"])
def test_credentials_with_whitespace_or_control_characters_are_refused(monkeypatch, value):
    monkeypatch.setenv("GL_CFG_KEY", value)
    monkeypatch.setenv("GL_CFG_SECRET", "secret-abcdefgh")
    s = exchange_settings({"id": "binance", "api_key_env": "GL_CFG_KEY", "secret_env": "GL_CFG_SECRET"})
    with pytest.raises(CredentialsError) as exc:
        credentials(s)
    assert "GL_CFG_KEY" in str(exc.value) and value.strip() not in str(exc.value)


def test_clean_credentials_pass(monkeypatch):
    monkeypatch.setenv("GL_CFG_KEY", "key-abcdefgh")
    monkeypatch.setenv("GL_CFG_SECRET", "secret-abcdefgh")
    s = exchange_settings({"id": "binance", "api_key_env": "GL_CFG_KEY", "secret_env": "GL_CFG_SECRET"})
    assert credentials(s) == {"apiKey": "key-abcdefgh", "secret": "secret-abcdefgh"}


def test_chaos_downtimes_and_paper_consistency():
    with pytest.raises(ConfigError, match="max_downtime_s"):
        paper_settings({"chaos": {"min_downtime_s": 10, "max_downtime_s": 5}})
    with pytest.raises(ConfigError, match="start_price"):
        paper_settings({"start_price": "0.001", "price_step": "0.01"})
    with pytest.raises(ConfigError, match="ticks"):
        paper_settings({"duration": "400d", "tick_ms": 10})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.one_of(
        st.text(max_size=30),
        st.floats(),
        st.integers(),
        st.decimals(),
        st.booleans(),
        st.none(),
        st.lists(st.integers(), max_size=3),
    )
)
def test_any_value_is_accepted_within_range_or_refused_as_a_config_error(value):
    """Whatever a config holds, the loader answers a Config or a ConfigError, nothing else."""
    for table, key in (
        ("grid", "anchor"),
        ("grid", "account"),
        ("strategy", "buy_window"),
        ("engine", "reconcile_every_s"),
        ("engine", "drift_tolerance"),
    ):
        data = {"grid": dict(GRID)}
        data.setdefault(table, {})[key] = value
        try:
            cfg = parse_config(data)
        except ConfigError:
            continue
        got = getattr(getattr(cfg, table), key)
        if isinstance(got, Decimal):
            assert got.is_finite()
        if key == "reconcile_every_s":
            assert 1 <= got <= 86_400


def test_config_file_that_is_too_large_or_a_directory(tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.truncate(2_000_000)
    with pytest.raises(ConfigError, match="larger than"):
        load_config(big)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path)
    assert os.path.isdir(tmp_path)
