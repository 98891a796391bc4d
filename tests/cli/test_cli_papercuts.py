"""Paper cuts a new user meets (issue 7 items 12, 15-18), on the real CLI's output.

Each test runs ``python -m gridledger.cli`` in a subprocess and reads what a user would read.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.testkit.synthetic import binance_reports, generate_history

FIXTURE = Path(__file__).parent.parent / "fixtures" / "sim" / "btcusdt_1m_sample.csv"
GRID = '[grid]\nid = "pc1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "100"\n'
DEAD_ENDPOINT = "http://127.0.0.1:9"  # nothing listens on the discard port
EXCHANGE = f'[exchange]\nid = "binance"\nendpoint = "{DEAD_ENDPOINT}"\njournal = "live.db"\n'
GUARD_S = 120  # a guard against a hang, not a measure of speed


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLEDGER_")}
    env.update(extra)
    return env


def cli(
    cwd: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridledger.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=GUARD_S,
        env=env or _env(),
    )


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout[-1500:], done.stderr[-1500:])
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def write(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return path


# --------------------------------------------------------------------------- item 15
def test_relative_candles_csv_is_found_beside_the_config(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    shutil.copy(FIXTURE, folder / "prices.csv")
    config = write(
        folder / "csv.toml",
        """\
        [grid]
        id = "csv1"
        symbol = "BTC/USDT"
        anchor = "36500"
        interval = "10"
        [strategy]
        buy_window = 6
        quote_per_level = "100"
        [paper]
        duration = "30m"
        candles_csv = "prices.csv"
        """,
    )
    done = cli(tmp_path, "paper", "--config", "configs/csv.toml")  # run from another folder
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "ledger vs exchange: MATCH" in done.stdout
    assert config.exists()
    # The report says where the prices came from, not a seed that did not make them (issue 9).
    header = "".join(done.stdout.split())  # rich may wrap the long path anywhere
    assert "(pricesfrom" in header and "prices.csv,faultseed" in header
    assert "(seed" not in header


def test_a_duration_longer_than_the_data_is_said_not_cut_silently(tmp_path):
    """Issue 9: the sample holds about 30 minutes; asking for a week ends early, with a warning."""
    shutil.copy(FIXTURE, tmp_path / "prices.csv")
    write(
        tmp_path / "week.toml",
        """\
        [grid]
        id = "csv2"
        symbol = "BTC/USDT"
        anchor = "36500"
        interval = "10"
        [paper]
        duration = "1w"
        candles_csv = "prices.csv"
        """,
    )
    done = cli(tmp_path, "paper", "--config", "week.toml")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    warning = " ".join(done.stderr.split())
    assert "warning: the price data ends at 2023-11-14T22:43:44" in warning
    assert "of the requested --duration 1w" in warning


def test_report_json_into_a_missing_folder_is_refused_before_the_session(tmp_path):
    db = tmp_path / "p.db"
    done = cli(tmp_path, "paper", "--duration", "1d", "--db", str(db), "--report-json", "/missing/dir/x.json")
    line = one_error_line(done)
    assert "--report-json" in line and "/missing/dir" in line and "does not exist" in line
    assert not db.exists() and "ledger vs exchange" not in done.stdout  # nothing ran
    done = cli(tmp_path, "paper", "--db", str(db), "--report-json", str(tmp_path))
    assert "is a directory" in one_error_line(done)


# --------------------------------------------------------------------------- item 16
def test_help_and_errors_keep_their_square_brackets(tmp_path):
    done = cli(tmp_path, "replay", "--help")
    assert done.returncode == 0 and "TOML config with a [grid] table." in " ".join(done.stdout.split())
    config = write(tmp_path / "live.toml", GRID + EXCHANGE)
    line = one_error_line(cli(tmp_path, "live", "--config", str(config), "--dry-run"))
    assert "(names can be changed in the [exchange] table)" in line
    line = one_error_line(cli(tmp_path, "paper", "--duration", "1y"))
    assert line.startswith("error: [paper] duration: ") and line.count("got") == 1 and "'1y'" in line


def test_duration_in_weeks_is_accepted(tmp_path):
    # Validation only: a simulated week takes minutes. The --report-json check comes after the
    # settings are validated, so its error shows that "1w" passed and nothing ran.
    line = one_error_line(cli(tmp_path, "paper", "--duration", "1w", "--report-json", "/missing/dir/x.json"))
    assert "--report-json" in line and "duration" not in line
    line = one_error_line(cli(tmp_path, "paper", "--duration", "1y", "--report-json", "/missing/dir/x.json"))
    assert "duration" in line


def _events() -> str:
    grid = GridSpec("pc1", Instrument.from_symbol("BTC/USDT"), Decimal("30000"), Decimal("100"))
    history = generate_history(random.Random(3), grid, 8, levels=range(-3, 0))
    ids = itertools.count(1)
    lines = [json.dumps(m) for order in history for m in binance_reports(grid, order, ids)]
    return "\n".join([*lines, '{"a": [1]}', *lines[:3]]) + "\n"  # a rejected line and duplicates


def test_replay_reads_standard_input_like_a_file(tmp_path):
    config = write(tmp_path / "g.toml", GRID)
    events = tmp_path / "events.jsonl"
    events.write_text(_events())
    from_file = cli(tmp_path, "replay", str(events), "--config", str(config), "--json")
    from_stdin = cli(tmp_path, "replay", "-", "--config", str(config), "--json", stdin=events.read_text())
    assert from_file.returncode == 0 and from_stdin.returncode == 0, from_stdin.stderr
    a, b = json.loads(from_file.stdout), json.loads(from_stdin.stdout)
    assert a["outcomes"]["APPLIED"] > 0 and a["outcomes"]["DUPLICATE"] > 0
    for key in ("position", "realized_pnl", "fees", "slots", "outcomes", "messages"):
        assert a[key] == b[key], key
    assert [r["source"] for r in b["rejections"]] == ["<stdin>"]
    # The rejection reason quotes the input's keys in brackets: printed as they are, not as markup.
    table = cli(tmp_path, "replay", "-", "--config", str(config), stdin=events.read_text())
    assert table.returncode == 0 and "['a']" in table.stdout


# --------------------------------------------------------------------------- item 17
def test_version_and_the_paper_defaults_in_help(tmp_path):
    done = cli(tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"gridledger {version('gridledger')}"
    text = " ".join(cli(tmp_path, "paper", "--help").stdout.split())
    assert "1d in the bundled config" in text and "7 in the bundled config" in text


def test_coid_encode_explains_every_option_and_refuses_impossible_orders(tmp_path):
    text = " ".join(cli(tmp_path, "coid", "encode", "--help").stdout.split())
    for option, words in (
        ("--config", "[grid] id"),
        ("--level", "below the anchor"),
        ("--side", "opens a level"),
        ("--role", "empties it"),
        ("--generation", "0 for the first"),
    ):
        assert option in text and words in text, option
    config = write(tmp_path / "g.toml", GRID)
    for side, role in (("buy", "close"), ("sell", "open")):
        line = one_error_line(
            cli(
                tmp_path,
                "coid",
                "encode",
                "-c",
                str(config),
                "--level",
                "-2",
                "--side",
                side,
                "--role",
                role,
                "--generation",
                "0",
            )
        )
        assert f"--side {side} --role {role} is impossible" in line and "long grid" in line
    done = cli(
        tmp_path,
        "coid",
        "encode",
        "-c",
        str(config),
        "--level",
        "-2",
        "--side",
        "buy",
        "--role",
        "open",
        "--generation",
        "0",
    )
    assert done.returncode == 0
    decoded = cli(tmp_path, "coid", "decode", done.stdout.strip(), "--json")
    assert json.loads(decoded.stdout) == {"grid_id": "pc1", "level": -2, "side": "buy", "role": "open", "generation": 0}


_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?\+00:00"


def test_paper_says_when_it_resumes_a_session(tmp_path):
    config = write(tmp_path / "p.toml", GRID + '[paper]\nduration = "2h"\n')
    db = tmp_path / "p.db"
    # A run that dies halfway (os._exit: no cleanup, like SIGKILL), at a point of progress, not of time.
    crash = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from gridledger.config import load_config
        from gridledger.paper.session import run_paper
        from gridledger.paper.settings import paper_settings
        cfg = load_config({str(config)!r})
        def progress(done, total):
            if done * 2 >= total:
                os._exit(9)
        run_paper(cfg, paper_settings(dict(cfg.paper)), db=Path({str(db)!r}), progress=progress)
    """)
    died = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True, timeout=GUARD_S)
    assert died.returncode == 9, died.stderr[-2000:]
    done = cli(tmp_path, "paper", "--config", str(config), "--db", str(db))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    said = re.search(
        rf"resuming session from {re.escape(str(db))} \((\d+) orders, last event at ({_ISO})\)",
        " ".join((done.stdout + done.stderr).split()),
    )
    assert said, done.stdout[-2000:] + done.stderr[-2000:]
    assert said.group(2).startswith("2026-01-01T0")  # the session's virtual time, in UTC


def test_live_says_when_it_resumes_its_journal(tmp_path):
    from gridledger.config import load_config
    from gridledger.ledger.ledger import Ledger
    from gridledger.store.journal import Journal
    from gridledger.venues import parse_message

    config = write(tmp_path / "live.toml", GRID + EXCHANGE)
    cfg = load_config(config)
    grid = cfg.grid.spec()
    lines = _events().splitlines()[:6]
    with Journal.open(tmp_path / "live.db", Ledger(grid), synchronous="NORMAL") as journal:
        for n, line in enumerate(lines):
            items = parse_message(json.loads(line, parse_float=Decimal), "auto", grid.instrument, source="t").items
            journal.apply_message(line, items, source="ws:orders", received_at=1_767_225_600_000 + n)
    # No credentials: the run stops right after the resume line, before any network.
    done = cli(tmp_path, "live", "--config", str(config), "--dry-run")
    assert "missing credentials" in done.stderr
    text = " ".join(done.stdout.split())
    said = re.search(rf"resuming session from live\.db \((\d+) orders, last event at ({_ISO})\)", text)
    assert said, done.stdout
    assert int(said.group(1)) >= 1 and said.group(2) == "2026-01-01T00:00:00.005000+00:00"


# --------------------------------------------------------------------------- item 12 (CLI part)
def test_live_banner_names_the_venue_and_its_endpoint(tmp_path):
    config = write(tmp_path / "live.toml", GRID + EXCHANGE)
    env = _env(GRIDLEDGER_API_KEY="key-abcdefgh", GRIDLEDGER_API_SECRET="secret-abcdefgh")
    done = cli(tmp_path, "live", "--config", str(config), "--dry-run", env=env)
    text = " ".join(done.stdout.split())
    assert f"gridledger live: binance, endpoint {DEAD_ENDPOINT};" in text, done.stdout
    assert "Traceback" not in done.stdout + done.stderr


# --------------------------------------------------------------------------- item 18
def test_paper_report_says_where_duplicates_came_from(tmp_path):
    report = tmp_path / "r.json"
    done = cli(tmp_path, "paper", "--chaos", "--duration", "2h", "--seed", "1", "--report-json", str(report))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    doc = json.loads(report.read_text())
    split = doc["duplicates_by_origin"]
    assert sum(split.values()) == doc["outcomes"]["DUPLICATE"] > 0
    assert split["stream"] > 0 and split["rest"] > 0
    text = " ".join(done.stdout.split())
    assert (
        f"duplicates {split['stream']} from the stream" in text
        and f"{split['rest']} from REST re-reads" in text
        and "changed nothing" in text
    ), text[-1500:]
