"""A closed stdout (`gridledger paper | head`) ends the command with exit 141, quietly.

Exit 1 is MISMATCH; before gridledger.console, rich's Console.on_broken_pipe (and click's
EPIPE handler) exited 1 with nothing on stderr, so a pipeline could not tell the two apart.
Real subprocesses, real pipes: either the reader is gone before the command writes (the
deterministic form of `| head` finishing first), or it reads one line and closes while the
command is blocked writing the rest (a pipe shrunk to one page, so the rest cannot fit).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

GUARD_S = 120  # a hung child fails the test instead of hanging it; no test waits on it
EXIT_BROKEN_PIPE = 141


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GRIDLEDGER_")}


def run_with_reader_gone(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `gridledger ARGS` with stdout a pipe whose read end is already closed."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "gridledger.cli", *args],
            cwd=cwd,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=GUARD_S,
            env=_env(),
        )
    finally:
        os.close(write_end)


def assert_quiet_141(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == EXIT_BROKEN_PIPE, (done.returncode, done.stderr[-1500:])
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr
    assert "error" not in done.stderr.lower(), done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("paper", "--duration", "30m"),  # the report: a rich console of ours
        ("--help",),  # typer's own rich console
        ("coid", "decode", "gl16paper1E110s", "--json"),  # a plain sys.stdout write, flushed at exit
        ("coid", "decode", "gl16paper1E110s"),  # a rich console of ours, a short line
    ],
    ids=["paper-report", "help", "plain-write", "rich-line"],
)
def test_a_closed_stdout_exits_141_with_nothing_on_stderr(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert_quiet_141(run_with_reader_gone(tmp_path, *args))


def test_exit_1_is_still_exit_1_when_stdout_was_never_written(tmp_path: Path) -> None:
    """Only a write that met the closed pipe is 141: a refusal said on stderr keeps its code,
    with stdout a closed pipe or the null device (`> /dev/null` is not a broken pipe)."""
    done = run_with_reader_gone(tmp_path, "coid", "decode", "nonsense")
    assert done.returncode == 1 and "not a gridledger client order id" in done.stderr
    with open(os.devnull, "w") as null:
        done = subprocess.run(
            [sys.executable, "-m", "gridledger.cli", "coid", "decode", "nonsense"],
            cwd=tmp_path,
            stdout=null,
            stderr=subprocess.PIPE,
            text=True,
            timeout=GUARD_S,
            env=_env(),
        )
    assert done.returncode == 1


@pytest.mark.skipif(not hasattr(fcntl, "F_SETPIPE_SZ"), reason="needs Linux pipe sizing")
def test_reading_one_line_then_closing_exits_141(tmp_path: Path) -> None:
    """`gridledger journal export | head -1`: the export (about 15 KB) is blocked on a
    one-page pipe when the reader takes its first line and closes."""
    db = tmp_path / "j.db"
    made = subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "paper", "--duration", "30m", "--db", str(db)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env=_env(),
    )
    assert made.returncode == 0, made.stderr[-1500:]
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    child = subprocess.Popen(
        [sys.executable, "-m", "gridledger.cli", "journal", "export", "--db", str(db)],
        cwd=tmp_path,
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    os.close(write_end)
    line = b""
    while not line.endswith(b"\n"):  # byte by byte: take exactly one line, leave the rest
        byte = os.read(read_end, 1)
        assert byte, "the export ended before its first line"
        line += byte
    assert line.startswith(b"{")
    os.close(read_end)
    _, stderr = child.communicate(timeout=GUARD_S)
    done = subprocess.CompletedProcess(child.args, child.returncode, "", stderr)
    assert_quiet_141(done)
