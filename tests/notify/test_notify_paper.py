"""Issue 10 item 6: notifications from a chaos paper session (half of the private messages
duplicated, reordered, dropped and replayed, the engine killed and restarted) reach a local
HTTP recorder once per trade; an endpoint that answers 500 or never answers changes nothing
in the session (same ledger, MATCH), only the notifier's counters."""

from __future__ import annotations

import copy
import re
import sqlite3
import tomllib
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from gridledger.cli import _bundled_paper_config
from gridledger.config import parse_config
from gridledger.paper.session import run_paper
from gridledger.paper.settings import paper_settings
from gridledger.testkit.recorder import Recorder

# A fill applied from a trade names it; one applied from an order update (the stream's
# snapshot came before the trade) names the order only.
FILL = re.compile(r"^(buy|sell) (?P<qty>[0-9.]+) BTC/USDT at .*\norder (?P<cid>\w+)(, trade (?P<trade>\w+))?$", re.S)


def _config(timeout_s: float = 1.0, queue_size: int = 1000) -> dict:
    data = tomllib.loads(_bundled_paper_config().read_text(), parse_float=Decimal)
    data["grid"]["interval"] = "60"  # a busy grid: about a hundred fills in four hours
    data["paper"].update(duration="4h", volatility=0.9)
    data["paper"]["chaos"].update(duplicate_p=0.5, kills=2, max_downtime_s=300)
    data["notify"] = {
        "urls_env": "GL_TEST_NOTIFY_URLS",
        "kinds": ["fill", "pause", "resume", "drift", "stop"],
        "rate_limit_per_min": 10_000,
        "timeout_s": timeout_s,
        "queue_size": queue_size,
    }
    return data


def _run(tmp_path: Path, name: str, monkeypatch, url: str, **kw):
    monkeypatch.setenv("GL_TEST_NOTIFY_URLS", url)
    cfg = parse_config(_config(**kw))
    notifiers: list = []
    db = tmp_path / f"{name}.db"
    result = run_paper(cfg, paper_settings(dict(cfg.paper)), chaos=True, db=db, on_notifier=notifiers.append)
    return result, notifiers[0], db


def _truth(db: Path) -> dict[str, Decimal]:
    """Each order's final filled quantity, from the journal."""
    import json

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT client_id, data FROM orders").fetchall()
    return {cid: Decimal(json.loads(data)["sf"]) for cid, data in rows if Decimal(json.loads(data)["sf"])}


@pytest.fixture(scope="module")
def ok_run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    try:
        with Recorder("ok") as rec:
            result, notifier, db = _run(tmp_path_factory.mktemp("ok"), "ok", mp, rec.apprise_url())
            return result, notifier, db, rec.bodies()
    finally:
        mp.undo()


def test_one_message_per_trade_under_half_duplicated_delivery(ok_run):
    result, notifier, db, bodies = ok_run
    assert result.audit.match
    assert result.faults["duplicated"] > 100 and result.state["outcomes"]["DUPLICATE"] > 100
    fills = [FILL.match(b["message"]) for b in bodies if b["title"].endswith(": fill")]
    assert fills and all(fills), [b["message"] for b in bodies][:5]
    keys = Counter((m["cid"], m["trade"]) for m in fills if m)
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    # Every trade the ledger holds was notified, with its quantity: per order, the notified
    # quantities add up to the order's final fill.
    notified: dict[str, Decimal] = {}
    for m in fills:
        assert m is not None
        notified[m["cid"]] = notified.get(m["cid"], Decimal(0)) + Decimal(m["qty"])
    assert notified == _truth(db)
    c = notifier.counters
    assert c.fills == len(fills) and c.send.sent == len(bodies) and c.send.failed == 0 and c.send.dropped == 0
    assert bodies[-1]["title"].endswith(": stop")


@pytest.mark.parametrize("mode", ["error", "hang"])
def test_a_failing_or_hanging_endpoint_does_not_change_the_session(ok_run, tmp_path, monkeypatch, mode):
    ok_result, ok_notifier, _, _ = ok_run
    with Recorder(mode) as rec:
        # A small queue and a short deadline: with a hanging endpoint most messages are dropped.
        result, notifier, _ = _run(tmp_path, mode, monkeypatch, rec.apprise_url(), timeout_s=0.5, queue_size=20)
        # Read while the endpoint still hangs: closing the recorder answers the request the
        # abandoned sender thread may still be waiting on.
        c = copy.deepcopy(notifier.counters)
    assert result.audit.match
    # The engine did exactly what it did with a working endpoint (the session is deterministic).
    assert result.state == ok_result.state and result.engine == ok_result.engine
    seen = (c.as_dict(), ok_notifier.counters.as_dict(), rec.requests)
    assert c.messages == ok_notifier.counters.messages, seen
    assert c.send.sent == 0 and c.send.failed >= 1, seen
    assert c.send.queued + c.send.dropped == c.messages, seen  # every message accounted for
    if mode == "error":
        assert rec.requests >= 1
