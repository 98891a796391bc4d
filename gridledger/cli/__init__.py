"""The command line: ``gridledger replay``, ``paper``, ``live``, ``backtest``, ``sweep``, ``data``, ``coid``, ``journal``.

One module per command (group); ``apps`` holds the typer applications they register on.
"""

from __future__ import annotations

from gridledger.backtest.cli import backtest_command
from gridledger.backtest.sweep import sweep_command
from gridledger.cli import live_cmd, paper_cmd, replay_cmd, tools_cmd  # noqa: F401  (importing registers them)
from gridledger.cli.apps import app, coid_app, journal_app
from gridledger.cli.common import _bundled_paper_config, err, fail, out
from gridledger.marketdata.cli import data_app

__all__ = ["_bundled_paper_config", "app", "coid_app", "err", "fail", "journal_app", "main", "out"]

# `gridledger backtest`: the command body lives in its own package (issue 9).

app.command("backtest")(backtest_command)

# `gridledger sweep`: the backtest over every combination of --set values (issue 9).
app.command("sweep")(sweep_command)

# `gridledger data import|fetch`: market data into the local cache (issue 9).
app.add_typer(data_app, name="data")


def main() -> None:
    """The console entry point: a user never sees a traceback.

    Every error a user can cause is handled where it happens (one line, its exit code). What
    escapes to here is a bug: it is said in one line with exit code 70 (EX_SOFTWARE), and
    ``GRIDLEDGER_DEBUG=1`` shows the traceback. No crash file is written: a traceback can
    quote request text, and secrets never go to disk or /tmp.

    A closed stdout (``gridledger paper | head``) ends with exit code 141 (128 + SIGPIPE) and
    nothing on stderr, whatever the command: 1 is MISMATCH, so it must not mean "the reader
    went away" too (see :mod:`gridledger.console`).
    """
    import os

    from gridledger.console import EXIT_BROKEN_PIPE, pipe_exit_code, silence_stdout, stdout_is_null

    started_null = stdout_is_null()
    try:
        app()
    except SystemExit as exc:
        raise SystemExit(pipe_exit_code(exc.code, started_null)) from None
    except BrokenPipeError:
        silence_stdout()
        raise SystemExit(EXIT_BROKEN_PIPE) from None
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        raise SystemExit(130) from None
    except Exception as exc:
        if os.environ.get("GRIDLEDGER_DEBUG"):
            raise
        from gridledger.logs import redact

        detail = redact(str(exc)).replace("\n", " ")
        if len(detail) > 200:
            detail = detail[:200] + "…"
        err.print(
            f"error: internal error ({type(exc).__name__}: {detail}); this is a bug in gridledger: "
            "run again with GRIDLEDGER_DEBUG=1 for the traceback and report it",
            markup=False,
            soft_wrap=True,
        )
        raise SystemExit(70) from None
