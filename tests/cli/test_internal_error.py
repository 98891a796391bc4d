"""A bug that escapes every handler is one line and exit 70, never a traceback (DEVELOPERS: a
traceback shown to a user is a bug); GRIDLEDGER_DEBUG=1 shows it for the report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROGRAM = """
import sys
import gridledger.replay as replay_module

def boom(*args, **kwargs):
    raise RuntimeError("kaboom at https://api.example/api/v3/account?timestamp=1&signature=deadbeef")

replay_module.replay = boom
sys.argv = ["gridledger", "replay", sys.argv[1], "--config", sys.argv[2]]
import gridledger.cli
gridledger.cli.main()
"""


def _run(tmp_path: Path, debug: bool) -> subprocess.CompletedProcess[str]:
    events = tmp_path / "events.jsonl"
    events.write_text("")
    config = tmp_path / "grid.toml"
    config.write_text('[grid]\nid = "t1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "100"\n')
    env = {k: v for k, v in os.environ.items() if k != "GRIDLEDGER_DEBUG"}
    if debug:
        env["GRIDLEDGER_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, str(events), str(config)], capture_output=True, text=True, env=env, timeout=120
    )


def test_an_unexpected_exception_is_one_line_and_exit_70(tmp_path: Path) -> None:
    proc = _run(tmp_path, debug=False)
    assert proc.returncode == 70
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "internal error (RuntimeError: kaboom" in lines[0]
    assert "GRIDLEDGER_DEBUG=1" in lines[0]
    assert "deadbeef" not in proc.stderr  # the signed query string is redacted


def test_gridledger_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = _run(tmp_path, debug=True)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "kaboom" in proc.stderr
