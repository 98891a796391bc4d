"""The soak command that was once seen to exit 70 (internal error), run as a user runs it.

`gridledger paper --chaos --market perp --direction short --leverage 3` over the bundled
config with funding every 20 minutes and a list of rates, seed 10, two simulated hours: the
soak of F4 ran it (and seeds 1-20, short and neutral, 2h and 1d, with kills and resumes) and it
always ended in MATCH, so this guards the exact command on real subprocess output: exit 0, the
ground-truth MATCH line (P1-P4 against the venue), nothing on stderr but the progress bar's
blank line, and above all no internal error (exit 70) and no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

FUNDING = 'funding_interval = "20m"\nfunding_rates = ["0.0001", "-0.0003", "0.0002"]\n\n'


def _config(tmp_path: Path) -> Path:
    # The bundled paper config, the [paper] funding settings added before [paper.balances].
    text = (files("gridledger") / "data" / "paper.toml").read_text()
    assert "[paper.balances]" in text
    path = tmp_path / "soak.toml"
    path.write_text(text.replace("[paper.balances]", FUNDING + "[paper.balances]", 1))
    return path


def _paper(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Without GRIDLEDGER_DEBUG an internal error is the one-line exit 70 a user would see.
    env = {k: v for k, v in os.environ.items() if k != "GRIDLEDGER_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "paper", "-c", str(cfg), "--chaos", "--market", "perp", *args],
        capture_output=True,
        text=True,
        cwd=cfg.parent,
        env=env,
        timeout=300,
    )


@pytest.mark.parametrize("direction", ["short", "neutral"])
def test_chaos_perp_leverage_3_funding_20m_seed_10_ends_in_match(tmp_path: Path, direction: str) -> None:
    done = _paper(_config(tmp_path), "--direction", direction, "--leverage", "3", "--seed", "10", "--duration", "2h")
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.stderr.strip() == "", done.stderr
    assert "ledger vs exchange: MATCH (position, settle balance and funding" in " ".join(done.stdout.split())
    assert f"direction {direction}" in " ".join(done.stdout.split())
    assert "3x cross" in done.stdout
