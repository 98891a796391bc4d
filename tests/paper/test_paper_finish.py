"""Paper sessions always finish (issue 7 item 9): at their duration, once, and only as themselves.

- A chaos kill whose downtime reaches past the end used to restart the engine after the
  price path had ended (PathExhausted for 6 of 7 seeds at 30m, seeds 1, 3, 5, 7 at 1h).
- A session killed after its trading was over, or a finished one run again, used to resume
  an engine on an ended path (PathExhausted on every run).
- Another --seed, --duration or --chaos on the same --db used to be a VenueLogError traceback.

Every session here is a real `gridledger paper` subprocess with the bundled config.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gridledger.cli import _bundled_paper_config
from gridledger.config import load_config
from gridledger.ledger.ledger import Ledger
from gridledger.paper.session import run_paper
from gridledger.paper.settings import paper_settings
from gridledger.paper.venue_log import VenueLogError
from gridledger.store.journal import Journal

START = "2026-01-01T00:00:00+00:00"  # the bundled [paper] start_ms


def paper(db: Path, *args: str, report: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "gridledger.cli", "paper", "--db", str(db), *args]
    if report is not None:
        cmd += ["--report-json", str(report)]
    # Wide, so rich does not wrap a line of the report in the middle.
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"})


def report_lines(stdout: str) -> list[str]:
    """The report without its wall-clock figure (the only thing allowed to differ)."""
    return [line for line in stdout.splitlines() if " s wall)" not in line and "already finished" not in line]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str], dict]:
    """Seed 1 at 30m with chaos: a seed whose last kill used to outlast the session."""
    folder = tmp_path_factory.mktemp("finished")
    db, report = folder / "s1.db", folder / "s1.json"
    run = paper(db, "--chaos", "--duration", "30m", "--seed", "1", report=report)
    return db, run, json.loads(report.read_text()) if report.exists() else {}


def check_ends_at_its_duration_with_a_match(
    run: subprocess.CompletedProcess[str], doc: dict, end: str, killed: bool = True
) -> None:
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "PathExhausted" not in run.stderr + run.stdout
    assert "ledger vs exchange: MATCH" in run.stdout
    assert doc["start"] == START and doc["end"] == end
    assert doc["ground_truth"]["match"], doc["ground_truth"]["differences"]
    if killed:  # counted by the process that ran the chaos schedule
        assert doc["faults_injected"]["engine_kills"] >= 1


def test_seed_1_at_30m_ends_at_its_duration_with_a_match(finished):
    _, run, doc = finished
    check_ends_at_its_duration_with_a_match(run, doc, "2026-01-01T00:30:00+00:00")


def test_seed_3_at_1h_ends_at_its_duration_with_a_match(tmp_path):
    report = tmp_path / "r.json"
    run = paper(tmp_path / "s3.db", "--chaos", "--duration", "1h", "--seed", "3", report=report)
    doc = json.loads(report.read_text()) if report.exists() else {}
    check_ends_at_its_duration_with_a_match(run, doc, "2026-01-01T01:00:00+00:00")


def test_a_finished_session_says_so_and_prints_its_report_again(finished, tmp_path):
    db, first, doc = finished
    venue = db.with_name(db.name + ".venue")
    with sqlite3.connect(venue) as conn:
        commands = conn.execute("SELECT count(*) FROM commands").fetchone()[0]
    report = tmp_path / "again.json"
    again = paper(db, "--chaos", "--duration", "30m", "--seed", "1", report=report)
    assert again.returncode == first.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert again.stdout.splitlines()[0].startswith(f"session already finished: {db}")
    assert report_lines(again.stdout) == report_lines(first.stdout)
    assert json.loads(report.read_text()) == doc
    with sqlite3.connect(venue) as conn:  # not traded again
        assert conn.execute("SELECT count(*) FROM commands").fetchone()[0] == commands


def test_a_finished_session_that_did_not_match_exits_1_again(finished, tmp_path):
    """The exit status is the original run's: a stored MISMATCH stays a MISMATCH."""
    db, _, _ = finished
    copy = tmp_path / "copy.db"
    copy.write_bytes(db.read_bytes())
    venue = copy.with_name(copy.name + ".venue")
    venue.write_bytes(db.with_name(db.name + ".venue").read_bytes())
    with sqlite3.connect(venue) as conn:
        stored = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'finished'").fetchone()[0])
        stored["audit"]["differences"] = ["position: ledger 1, exchange 0"]
        conn.execute("UPDATE meta SET value = ? WHERE key = 'finished'", (json.dumps(stored),))
    again = paper(copy, "--chaos", "--duration", "30m", "--seed", "1")
    assert again.returncode == 1, again.stdout[-2000:] + again.stderr[-2000:]
    assert "session already finished" in again.stdout and "MISMATCH" in again.stdout
    assert "position: ledger 1, exchange 0" in again.stdout


def test_resuming_with_another_seed_is_one_line_and_exit_2(finished):
    db, _, _ = finished
    run = paper(db, "--chaos", "--duration", "30m", "--seed", "2")
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0] == (
        f"error: journal {db} belongs to a session with duration 30m seed 1 chaos on "
        f"(this run: duration 30m seed 2 chaos on); use another --db, or delete {db} and "
        f"{db}.venue to start a new session"
    )


@pytest.mark.parametrize(
    "duration, chaos, this_run",
    [
        ("1h", True, "duration 1h seed 1 chaos on"),
        ("30m", False, "duration 30m seed 1 chaos off"),
    ],
)
def test_resuming_with_another_duration_or_chaos_is_refused_before_anything_runs(finished, duration, chaos, this_run):
    db, _, _ = finished
    cfg = load_config(_bundled_paper_config())
    ps = paper_settings({**dict(cfg.paper), "duration": duration, "seed": 1})
    with pytest.raises(VenueLogError, match=re.escape(f"(this run: {this_run}); use another --db")):
        run_paper(cfg, ps, chaos=chaos, db=db)


def test_a_journal_no_paper_session_wrote_is_refused_in_one_line(tmp_path):
    db = tmp_path / "replayed.db"
    cfg = load_config(_bundled_paper_config())
    Journal.open(db, Ledger(cfg.grid.spec())).close()  # e.g. a `replay --db` journal
    run = paper(db, "--duration", "30m")
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "has no paper venue log" in lines[0] and "use another --db" in lines[0]


def test_a_damaged_venue_log_is_refused_in_one_line(tmp_path):
    db = tmp_path / "j.db"
    db.with_name("j.db.venue").write_bytes(b"not sqlite" * 500)
    run = paper(db, "--duration", "30m")
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "j.db.venue cannot be used" in lines[0] and "use another --db" in lines[0]


KILL_WHEN_TRADING_IS_OVER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from gridledger.cli import _bundled_paper_config
    from gridledger.config import load_config
    from gridledger.paper.session import run_paper
    from gridledger.paper.settings import paper_settings

    cfg = load_config(_bundled_paper_config())
    ps = paper_settings({**dict(cfg.paper), "duration": "30m", "seed": int(sys.argv[2])})

    def progress(done, total):
        # 100 % comes once: the path is over, the closing reconciliation and audit done,
        # the report not yet stored. Die there as a SIGKILL would.
        if done >= total:
            print("trading over", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    run_paper(cfg, ps, chaos=True, db=Path(sys.argv[1]), progress=progress)
""")


@pytest.mark.parametrize("seed", [1, 6])  # 1: the engine was down at the end; 6: it ran to the end
def test_a_session_killed_after_its_trading_ended_completes_on_resume(tmp_path, seed):
    db = tmp_path / "k.db"
    killed = subprocess.run(
        [sys.executable, "-c", KILL_WHEN_TRADING_IS_OVER, str(db), str(seed)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    assert killed.stdout == "trading over\n"
    # The state that could never be completed: the journal's last event is past the price
    # path's end (00:31:00), so a resume has no ticks left to trade on.
    cfg = load_config(_bundled_paper_config())
    journal = Journal.open(db, Ledger(cfg.grid.spec()))
    try:
        assert journal.last_received_at() > 1_767_225_600_000 + 31 * 60_000
    finally:
        journal.close()

    report = tmp_path / "r.json"
    resumed = paper(db, "--chaos", "--duration", "30m", "--seed", str(seed), report=report)
    doc = json.loads(report.read_text()) if report.exists() else {}
    assert "already finished" not in resumed.stdout
    check_ends_at_its_duration_with_a_match(resumed, doc, "2026-01-01T00:30:00+00:00", killed=False)

    with sqlite3.connect(db.with_name(db.name + ".venue")) as conn:  # the next run only prints it
        assert conn.execute("SELECT count(*) FROM meta WHERE key = 'finished'").fetchone()[0] == 1
