"""`gridledger paper --serve`: a paper session in paced time with the API, stopped through the
stop endpoint; its audit still matches and the API's last word equals the journal's replay.
Also the paced clock itself (gridledger/exchange/sim/clock.py)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal as D
from importlib.resources import files
from pathlib import Path

from typer.testing import CliRunner

from gridledger.api.paper import PaperServe
from gridledger.cli import app
from gridledger.config import ApiConfig, load_config
from gridledger.exchange.sim.clock import VirtualTimeLoop, run_virtual
from gridledger.paper.session import run_paper
from gridledger.paper.settings import paper_settings

TOKEN = "paper-serve-token-0123456789"
WAIT = 60.0


def http(url: str, token: str | None = None, method: str = "GET") -> tuple[int, dict]:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def poll(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waiting for {what}")
        time.sleep(0.05)  # polling a condition in another thread, with a deadline


def test_served_paper_session_stops_on_request_and_matches(tmp_path):
    config_path = Path(str(files("gridledger") / "data" / "paper.toml"))
    cfg = load_config(config_path)
    ps = paper_settings({**cfg.paper, "duration": "30d"})
    db = tmp_path / "paper.db"
    ready = threading.Event()
    urls: list[str] = []

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    api = ApiConfig.model_construct(port=0, host="127.0.0.1", token_env="UNUSED")
    watcher = PaperServe(api, TOKEN, speed=20000.0, on_ready=on_ready)
    out: dict[str, object] = {}

    def session() -> None:
        try:
            out["result"] = run_paper(cfg, ps, db=db, watcher=watcher, speed=20000.0)
        except BaseException as exc:  # reported by the test thread
            out["error"] = exc
            ready.set()

    thread = threading.Thread(target=session, daemon=True)
    thread.start()
    assert ready.wait(WAIT) and "error" not in out, out.get("error")
    url = urls[0].rstrip("/")
    poll(lambda: len(http(url + "/api/v1/fills?limit=1000")[1]["fills"]) >= 2, "two fills")
    status, doc = http(url + "/api/v1/status")
    assert status == 200 and doc["mode"] == "paper" and doc["speed"] == 20000.0
    assert http(url + "/api/v1/control/stop")[0] == 401
    assert http(url + "/api/v1/control/stop", "wrong-token-0123456789", "POST")[0] == 401
    assert http(url + "/api/v1/control/stop", TOKEN, "POST")[0] == 202
    thread.join(WAIT)
    assert not thread.is_alive() and "error" not in out, out.get("error")
    result = out["result"]
    assert result.audit.match, result.audit.differences  # type: ignore[attr-defined]
    # Ended by the stop, long before its 30 days: the report covers the time it traded.
    assert result.end_ms - result.start_ms < 30 * 86_400_000  # type: ignore[attr-defined]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    replay = CliRunner().invoke(app, ["replay", str(empty), "-c", str(config_path), "--db", str(db), "--json"])
    assert replay.exit_code == 0, replay.output
    state = json.loads(replay.stdout)
    assert state["position"] == result.state["position"]  # type: ignore[attr-defined]
    assert D(state["realized_pnl"]) == D(result.state["realized_pnl"])  # type: ignore[attr-defined]


def test_paced_clock_waits_in_real_time_scaled_and_virtual_stays_instant():
    async def sleep_virtual(seconds: float) -> tuple[float, float, bool]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        t0 = loop.time()
        frozen = loop.time() == t0  # before pacing, the clock only moves when the loop is idle
        loop.begin_pacing()
        real0 = time.monotonic()
        await asyncio.sleep(seconds)
        return loop.time() - t0, time.monotonic() - real0, frozen

    virtual, real, frozen = run_virtual(sleep_virtual(5.0), speed=100.0)
    assert frozen and virtual >= 5.0
    assert real >= 5.0 / 100.0 * 0.99  # paced: 5 virtual seconds take at least 50 ms of real time
    # Without a speed, begin_pacing is a no-op and the same sleep is a clock jump.
    virtual, _, _ = run_virtual(sleep_virtual(3600.0))
    assert virtual == 3600.0
