"""A closed stdout (``gridledger paper | head``) ends the command quietly with exit code 141.

141 is 128 + SIGPIPE, what a shell reports for a process killed by a broken pipe, so a
script can tell "the reader went away" from a real result: exit 1 means the ledger and the
exchange MISMATCH, and rich's own ``Console.on_broken_pipe`` (and click's EPIPE handler)
would otherwise exit 1 too. Python ignores SIGPIPE, so the pipe shows up as a
``BrokenPipeError`` on a write, from three places, each mapped here:

- a rich console's write: :class:`PipeSafeConsole` (every command's consoles are one);
- a plain ``sys.stdout`` write (``--json`` output, journal export): click catches the EPIPE,
  swaps ``sys.stdout`` for a ``PacifyFlushWrapper`` and exits 1; :func:`pipe_exit_code`
  recognises that wrapper;
- the interpreter's last flush of buffered output at exit: :func:`flush_stdout` does that
  flush first, where the error can still be mapped;
- a rich Console that is not ours (typer's ``--help`` and error panels): rich points stdout
  at the null device and exits 1; :func:`pipe_exit_code` sees stdout turned into the null
  device during the run (it compares with what stdout was at the start, so
  ``gridledger paper > /dev/null`` still exits 1 on a MISMATCH).

In each case stdout is pointed at the null device, so nothing (no "Exception ignored"
message, no traceback) reaches stderr afterwards.
"""

from __future__ import annotations

import os
import stat
import sys

from rich.console import Console

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE (13)


def silence_stdout() -> None:
    """Point stdout's file descriptor at the null device: later writes and flushes succeed."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (a test's capture): nothing to do
        pass


class PipeSafeConsole(Console):
    """A rich Console that exits 141 instead of 1 when its stream's reader has gone."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        silence_stdout()
        raise SystemExit(EXIT_BROKEN_PIPE)


def stdout_was_broken() -> bool:
    """True when click's EPIPE handler has run (it wraps the streams it found broken)."""
    # By name: typer vendors its own copy of click (typer._click), whose class is not click's.
    return type(sys.stdout).__name__ == "PacifyFlushWrapper"


def flush_stdout() -> bool:
    """Flush stdout now; False (and stdout silenced) when its reader has gone."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        return False
    except (OSError, ValueError):  # closed or not a real stream: nothing left to deliver
        return True
    return True


def stdout_is_null() -> bool:
    """True when file descriptor 1 is the null device."""
    try:
        fd, null = os.fstat(1), os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(fd.st_mode) and fd.st_rdev == null.st_rdev


def pipe_exit_code(code: object, started_null: bool = False) -> object:
    """The exit code to use for a command that ended with ``code``: 141 when stdout's reader
    went away (whatever the command had reached), else ``code`` unchanged. ``started_null``:
    stdout was the null device already when the command started."""
    if code == EXIT_BROKEN_PIPE:
        return code
    if code == 1 and (stdout_was_broken() or (not started_null and stdout_is_null())):
        silence_stdout()
        return EXIT_BROKEN_PIPE
    if not flush_stdout():
        return EXIT_BROKEN_PIPE
    return code
