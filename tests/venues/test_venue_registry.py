"""The venue registry (issue 8 item 2): a venue is declared once and everything else derives.

Two halves. Every registered declaration is consistent with the venue it names (its parser
reads its own fixtures, its ccxt ids exist, its passphrase flag is ccxt's). And a venue
added at test time (one extra registry entry, no other module touched) is accepted by the
CLI's ``--format``, by ``auto`` detection, by the engine's evidence reader and by the live
settings.
"""

from __future__ import annotations

import ast
import itertools
import json
import pkgutil
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
import pytest
from venue_registry_fake import FAKE, parse_fake

import gridledger.venues
from gridledger.config import ConfigError
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.engine.evidence_reader import EvidenceReader
from gridledger.ledger.evidence import Parsed
from gridledger.live.factory import CredentialsError, credentials
from gridledger.live.settings import exchange_settings, supported
from gridledger.testkit.synthetic import binance_reports, generate_history, interleave
from gridledger.venues import parse_binance_spot, parse_message, registry
from gridledger.venues.venue import MARKET_KINDS, Venue

TESTS = Path(__file__).resolve().parent.parent
FIXTURES = TESTS / "fixtures" / "venues"
BTCUSDT = Instrument.from_symbol("BTC/USDT")


@pytest.fixture
def with_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "VENUES", (*registry.VENUES, FAKE))


def _er() -> dict[str, Any]:
    stem = json.loads((FIXTURES / "binance_spot.json").read_text(), parse_float=Decimal)
    return next(p for p in stem.values() if isinstance(p, dict) and p.get("e") == "executionReport")


def test_detection_and_parse_message_take_the_new_venue(with_fake: None) -> None:
    wrapped = {"fakeMsg": _er()}
    assert "fakex" in registry.format_names()
    assert registry.detect_format(wrapped) == "fakex"
    assert registry.detect_format([wrapped]) == "fakex"
    expected = parse_binance_spot(_er(), BTCUSDT, "s")
    assert parse_message(wrapped, "auto", BTCUSDT, source="s") == expected
    assert parse_message(wrapped, "fakex", BTCUSDT, source="s") == expected
    # The built-in venues still win their own messages: the new rule runs at its rank.
    assert registry.detect_format(_er()) == "binance-spot"


def test_without_the_registry_line_the_format_is_unknown() -> None:
    with pytest.raises(InputError, match="unknown message format 'fakex'"):
        parse_message({"fakeMsg": _er()}, "fakex", BTCUSDT)
    with pytest.raises(InputError, match="cannot tell the message format"):
        parse_message({"fakeMsg": _er()}, "auto", BTCUSDT)


def test_evidence_reader_uses_the_new_venue_for_its_ccxt_id(with_fake: None) -> None:
    reader = EvidenceReader("kraken", BTCUSDT)
    assert reader.fmt == "fakex"
    assert reader.needs_trade_stream is False  # order_stream_has_trades=True
    raw, parsed = reader.read_order({"id": "1", "info": {"fakeMsg": _er()}}, "watch_orders")
    assert parsed == parse_binance_spot(_er(), BTCUSDT, "watch_orders")
    assert json.loads(raw) == json.loads(json.dumps({"fakeMsg": _er()}, default=str))


def test_evidence_reader_falls_back_without_the_registry_line() -> None:
    reader = EvidenceReader("kraken", BTCUSDT)
    assert reader.fmt is None and reader.needs_trade_stream is True


def test_live_settings_support_the_new_venue_and_its_passphrase(
    with_fake: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "kraken" in supported()
    with pytest.raises(ConfigError, match="kraken"):  # the hint lists the supported venues
        exchange_settings({})
    settings = exchange_settings({"id": "kraken", "password_env": "FAKEX_PASSPHRASE"})
    assert settings.needs_passphrase
    monkeypatch.setenv("GRIDLEDGER_API_KEY", "k" * 8)
    monkeypatch.setenv("GRIDLEDGER_API_SECRET", "s" * 12)
    monkeypatch.delenv("FAKEX_PASSPHRASE", raising=False)
    with pytest.raises(CredentialsError, match="FAKEX_PASSPHRASE"):
        credentials(settings)
    monkeypatch.setenv("FAKEX_PASSPHRASE", "p" * 6)
    assert credentials(settings)["password"] == "p" * 6


def test_live_settings_without_the_registry_line() -> None:
    assert "kraken" not in supported()
    assert not exchange_settings({"id": "kraken"}).needs_passphrase


# ------------------------------------------------------------------------------ the CLI
GRID = GridSpec("vr1", BTCUSDT, Decimal("30000"), Decimal("50"))
PATCHED = (
    f"import sys; sys.path.insert(0, {str(TESTS)!r}); import venue_registry_fake; venue_registry_fake.install(); "
    "from gridledger.cli import app; app(prog_name='gridledger')"
)


def _cli(*args: str, patched: bool) -> subprocess.CompletedProcess[str]:
    head = ["-c", PATCHED] if patched else ["-m", "gridledger.cli"]
    return subprocess.run([sys.executable, *head, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    rng = random.Random(5)
    history = generate_history(rng, GRID, 20, levels=range(-3, 0))
    ids = itertools.count(1)
    messages = interleave(rng, [binance_reports(GRID, o, ids) for o in history])
    root = tmp_path_factory.mktemp("venue_cli")
    plain, wrapped = root / "plain.jsonl", root / "wrapped.jsonl"
    plain.write_text("".join(json.dumps(m, default=str) + "\n" for m in messages))
    wrapped.write_text("".join(json.dumps({"fakeMsg": m}, default=str) + "\n" for m in messages))
    config = root / "grid.toml"
    config.write_text('[grid]\nid = "vr1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "50"\n')
    return plain, wrapped, config


def test_cli_format_choices_come_from_the_registry(events: tuple[Path, Path, Path]) -> None:
    plain, wrapped, config = events
    helped = _cli("replay", "--help", patched=True)
    assert helped.returncode == 0 and "fakex" in helped.stdout
    baseline = _cli("replay", str(plain), "-c", str(config), "--format", "binance-spot", "--json", patched=False)
    assert baseline.returncode == 0, baseline.stderr
    state = json.loads(baseline.stdout)
    assert state["outcomes"]["APPLIED"] > 0
    for fmt in ("fakex", "auto"):
        run = _cli("replay", str(wrapped), "-c", str(config), "--format", fmt, "--json", patched=True)
        assert run.returncode == 0, run.stderr
        got = json.loads(run.stdout)
        assert {k: got[k] for k in ("position", "slots", "outcomes")} == {
            k: state[k] for k in ("position", "slots", "outcomes")
        }


def test_cli_rejects_an_unregistered_format(events: tuple[Path, Path, Path]) -> None:
    _, wrapped, config = events
    run = _cli("replay", str(wrapped), "-c", str(config), "--format", "fakex", patched=False)
    assert run.returncode == 2 and "'fakex' is not one of" in run.stderr and "Traceback" not in run.stderr


# --------------------------------------------------------- every declaration is consistent
@pytest.mark.parametrize("venue", registry.VENUES, ids=lambda v: v.name)
def test_the_parser_reads_its_own_fixtures(venue: Venue) -> None:
    fixtures = json.loads((FIXTURES / f"{venue.name.replace('-', '_')}.json").read_text(), parse_float=Decimal)
    with_items = 0
    for name, payload in fixtures.items():
        try:
            parsed = venue.parse(payload, BTCUSDT, "fixture")
        except InputError:
            continue  # error answers in the corpus: a clear InputError is the right reading
        assert isinstance(parsed, Parsed), name
        with_items += bool(parsed.items)
        if payload != [] and (venue.name, name) != ("binance-usdm", "listen_key_expired"):  # both Binances send it
            assert registry.detect_format(payload) == venue.name, name
    assert with_items >= len(fixtures) // 2


@pytest.mark.parametrize("venue", registry.VENUES, ids=lambda v: v.name)
def test_the_declaration_matches_ccxt(venue: Venue) -> None:
    assert venue.markets and venue.markets <= MARKET_KINDS
    for exchange_id in venue.ccxt_ids:
        assert exchange_id in ccxt.exchanges and exchange_id in ccxt.pro.exchanges
        required = getattr(ccxt, exchange_id)().requiredCredentials
        assert bool(required.get("password")) == venue.needs_passphrase, exchange_id
    for exchange_id in venue.other_ids:
        assert exchange_id not in ccxt.exchanges  # a ccxt id belongs in ccxt_ids


def test_ccxt_unified_is_a_format_not_a_venue() -> None:
    ccxt_format = registry.venue_named("ccxt")
    assert ccxt_format is not None and ccxt_format.is_format_only
    live = supported()
    assert live == registry.live_exchange_ids()
    assert {"binance", "binanceusdm", "okx", "bybit"} <= set(live)
    assert all(not v.is_format_only for v in registry.VENUES if v.name != "ccxt")


def test_every_venue_package_is_registered() -> None:
    """A venue package without its registry line would be silently unused."""
    registered = {v.name for v in registry.VENUES}
    declared = set()
    for info in pkgutil.iter_modules(gridledger.venues.__path__):
        if info.ispkg:
            module = __import__(f"gridledger.venues.{info.name}", fromlist=["VENUE"])
            declared.add(module.VENUE.name)
    assert declared == registered


def test_a_bad_registry_is_refused_at_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = registry.VENUES
    twice = (*builtin, FAKE, FAKE)
    monkeypatch.setattr(registry, "VENUES", twice)
    with pytest.raises(ValueError, match="'fakex' is reserved or declared twice"):
        registry.format_names()
    clash = Venue("other", parse_fake, (), markets=frozenset({"spot"}), ccxt_ids=("okx",))
    monkeypatch.setattr(registry, "VENUES", (*builtin, clash))
    with pytest.raises(ValueError, match="'okx' is declared by two venues"):
        registry.venue_for_exchange("okx")


# ------------------------------------------------------------------- arrows point inward
PACKAGE = TESTS.parent / "gridledger"
# What a venue module may import: pure helpers, the domain, the ledger's evidence types.
VENUE_MAY_IMPORT = (
    "__future__",
    "collections",
    "dataclasses",
    "decimal",
    "typing",
    "gridledger.domain",
    "gridledger.ledger.evidence",
    "gridledger.venues",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_venues_are_pure_and_the_core_never_imports_them() -> None:
    for path in sorted((PACKAGE / "venues").rglob("*.py")):
        bad = [m for m in _imports(path) if not any(m == a or m.startswith(a + ".") for a in VENUE_MAY_IMPORT)]
        assert bad == [], f"{path.relative_to(PACKAGE)} imports {bad} (parsers are pure: no I/O, no shell)"
    for core in ("domain", "ledger", "strategy"):
        for path in sorted((PACKAGE / core).rglob("*.py")):
            bad = [m for m in _imports(path) if m.startswith("gridledger.venues")]
            assert bad == [], f"{path.relative_to(PACKAGE)} imports {bad}: the ledger must not know venues"
