"""Startup rules of [api]: a non-loopback bind needs a token from the environment (one line,
exit 2, before anything touches the network); the token never comes from the config file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gridledger.api.auth import ApiSetupError, bearer_ok, is_loopback, resolve_token
from gridledger.config import ConfigError, load_config

CONFIG = """[grid]
id = "x1"
symbol = "BTC/USDT"
anchor = "30000"
interval = "100"
[exchange]
id = "binance"
[api]
port = 18999
host = "{host}"
"""


def write(tmp_path: Path, host: str, extra: str = "") -> Path:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG.format(host=host) + extra)
    return path


def gridledger(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridledger.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.parametrize("command", [["live", "-c"], ["paper", "--serve", "--duration", "1h", "-c"]])
def test_non_loopback_bind_without_token_is_one_line_exit_2(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if k != "GRIDLEDGER_API_TOKEN"}
    proc = gridledger(*command, str(write(tmp_path, "0.0.0.0")), env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not loopback" in lines[0] and "GRIDLEDGER_API_TOKEN" in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_token_is_not_a_config_key(tmp_path):
    with pytest.raises(ConfigError, match=r"api\.token: unknown key"):
        load_config(write(tmp_path, "127.0.0.1", 'token = "in-the-file-0123456789"\n'))


def test_resolve_token_rules(tmp_path):
    api = load_config(write(tmp_path, "0.0.0.0")).api
    with pytest.raises(ApiSetupError, match="not loopback"):
        resolve_token(api, {})
    with pytest.raises(ApiSetupError, match="at least 16"):
        resolve_token(api, {"GRIDLEDGER_API_TOKEN": "short"})
    assert resolve_token(api, {"GRIDLEDGER_API_TOKEN": "x" * 20}) == "x" * 20
    loop = load_config(write(tmp_path, "127.0.0.1")).api
    assert resolve_token(loop, {}) is None  # loopback: reads open, control disabled
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("example.com")


def test_bearer_compare():
    assert bearer_ok("Bearer " + "t" * 20, "t" * 20)
    assert bearer_ok("bearer " + "t" * 20, "t" * 20)
    assert not bearer_ok("Bearer " + "t" * 19, "t" * 20)
    assert not bearer_ok("Basic " + "t" * 20, "t" * 20)
    assert not bearer_ok(None, "t" * 20)
    assert not bearer_ok("Bearer anything", None)  # no token configured: nobody
