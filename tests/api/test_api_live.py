"""The HTTP API against a live engine: ccxt's binance class on the local Binance-protocol
server (gridledger/testkit/local_binance), the API server on the engine's loop.

What the API says after the stop equals what `gridledger replay EMPTY --db JOURNAL --json`
rebuilds from the journal; control needs the token; the event feed carries the fills; the
OpenAPI document lists every route. No test sleeps to wait: each waits on a condition.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D

import aiohttp
from api_harness import TOKEN, WAIT, Live, config_file
from typer.testing import CliRunner

from gridledger.api.server import ApiServer
from gridledger.cli import app
from gridledger.config import ApiConfig
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.testkit.local_binance import LocalBinance, LocalBinanceConfig
from gridledger.testkit.local_binance.testing import until


async def get(http: aiohttp.ClientSession, url: str, **kw) -> dict:
    async with http.get(url, **kw) as r:
        assert r.status == 200, (url, r.status, await r.text())
        return await r.json()


async def post(http: aiohttp.ClientSession, url: str, token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with http.post(url, headers=headers) as r:
        return r.status, await r.json()


async def read_events(http: aiohttp.ClientSession, url: str, kinds: list[str], until_kind: str, out: list) -> None:
    """Follow the SSE feed, collecting events, until one of ``until_kind`` arrives."""
    async with http.get(url + "/api/v1/events") as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        kind = None
        async for raw in r.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind in kinds:
                out.append(json.loads(line[6:]))
                if kind == until_kind:
                    return


def run(coro):
    asyncio.run(asyncio.wait_for(coro, 120))


def test_status_levels_fills_control_and_replay_agree(tmp_path):
    db = tmp_path / "j.db"

    async def scenario():
        spec = SimMarketSpec(participation=D("1"))
        async with LocalBinance(LocalBinanceConfig(spec=spec, balances={"USDT": D("10000"), "BTC": D("0")})) as server:
            s = Live(server, db)
            url = await s.start()
            async with aiohttp.ClientSession() as http:
                await until(lambda: s.live() == 3, WAIT, "three buys")
                levels = await get(http, url + "/api/v1/levels")
                pending = [lv for lv in levels["levels"] if lv["status"] == "PENDING"]
                assert sorted(lv["price"] for lv in pending) == ["29700", "29800", "29900"]
                assert all(lv["bound_order"]["side"] == "buy" for lv in pending)
                orders = await get(http, url + "/api/v1/orders")
                assert len(orders["orders"]) == 3 and all(isinstance(o["price"], str) for o in orders["orders"])

                # The feed carries the fill, exactly once, without polling.
                seen: list[dict] = []
                feed = asyncio.ensure_future(read_events(http, url, ["fill"], "fill", seen))
                await until(lambda: len(s.engine.events._subs) >= 2, WAIT, "the feed subscribed")
                await server.set_price("29890", volume=D("1"))
                await asyncio.wait_for(feed, WAIT)
                assert seen[0]["level"] == -1 and seen[0]["side"] == "buy" and seen[0]["price"] == "29900"
                await until(lambda: s.journal.ledger.position > 0, WAIT, "the fill in the ledger")
                fills = await get(http, url + "/api/v1/fills", params={"since": "0", "limit": "10"})
                assert len(fills["fills"]) == 1 and fills["fills"][0]["qty"] == seen[0]["qty"]
                await server.set_price("30010", volume=D("1"))
                await until(lambda: s.journal.ledger.realized_pnl > 0, WAIT, "a round trip")

                # Control: refused without the token or with a wrong one, even on loopback.
                for token in (None, "wrong-token-0123456789", TOKEN + "x"):
                    status, body = await post(http, url + "/api/v1/control/pause", token)
                    assert status == 401 and "token" in body["error"]
                assert not s.engine.manual_pause
                status, body = await post(http, url + "/api/v1/control/pause", TOKEN)
                assert status == 200 and body["paused"] and "manual" in body["pause_reasons"]
                status, body = await post(http, url + "/api/v1/control/resume", TOKEN)
                assert status == 200 and not body["paused"]
                before = s.engine.stats.reconciles
                status, _ = await post(http, url + "/api/v1/control/reconcile", TOKEN)
                assert status == 202
                # (A reason already pending, say "idle", is the one reported: one run serves both.)
                await until(lambda: s.engine.stats.reconciles > before, WAIT, "reconcile now")

                counters = await get(http, url + "/api/v1/counters")
                assert counters["outcomes"]["APPLIED"] > 0 and "reconnects" in counters["faults"]
                bad = await http.get(url + "/api/v1/fills", params={"limit": "x"})
                assert bad.status == 400 and "limit" in (await bad.json())["error"]

                # Stop through the API: the engine shuts down cleanly.
                status, _ = await post(http, url + "/api/v1/control/stop", TOKEN)
                assert status == 202
                await asyncio.wait_for(s.task, WAIT)
                status_doc = await get(http, url + "/api/v1/status")
                levels = await get(http, url + "/api/v1/levels")
            await s.api.stop()
            await s.ex.close()
            s.journal.close()
            return status_doc, levels

    status_doc, levels = None, None

    async def wrapped():
        nonlocal status_doc, levels
        status_doc, levels = await scenario()

    run(wrapped())
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(
        app, ["replay", str(empty), "--config", str(config_file(tmp_path)), "--db", str(db), "--json"]
    )
    assert result.exit_code == 0, result.output
    replayed = json.loads(result.stdout)
    assert status_doc["position"] == replayed["position"]
    assert status_doc["realized_pnl"] == replayed["realized_pnl"]
    assert D(status_doc["realized_pnl"]) > 0
    ours = {lv["level"]: lv for lv in levels["levels"]}
    for slot in replayed["slots"]:
        row = ours[slot["level"]]
        assert (row["qty"], row["cost"], row["realized_pnl"], row["round_trips"]) == (
            slot["qty"],
            slot["cost"],
            slot["realized_pnl"],
            slot["round_trips"],
        ), slot["level"]
    # Every level the API shows holding something, the replay shows too.
    held = {lv["level"] for lv in levels["levels"] if D(lv["qty"]) or D(lv["cost"]) or D(lv["realized_pnl"])}
    assert held <= {slot["level"] for slot in replayed["slots"]}


def test_openapi_lists_every_route_and_errors_are_json(tmp_path):
    async def scenario():
        api = ApiConfig.model_construct(port=0, host="127.0.0.1", token_env="UNUSED")
        server = ApiServer(api, None, on_stop=lambda: None)
        await server.start()
        url = f"http://127.0.0.1:{server.port}"
        try:
            async with aiohttp.ClientSession() as http:
                doc = await get(http, url + "/api/v1/openapi.json")
                assert doc["openapi"].startswith("3.")
                routes = {r.resource.canonical for r in server.app.router.routes() if r.resource is not None}
                assert routes <= set(doc["paths"]), routes - set(doc["paths"])
                # No engine yet: a JSON 503, not a traceback.
                async with http.get(url + "/api/v1/status") as r:
                    assert r.status == 503 and "engine" in (await r.json())["error"]
                # No token configured: control is disabled, and says why.
                status, body = await post(http, url + "/api/v1/control/stop", "anything-at-all-123")
                assert status == 401 and "UNUSED" in body["error"]
                async with http.get(url + "/api/v1/nope") as r:
                    assert r.status == 404 and "error" in await r.json()
                async with http.get(url + "/") as r:
                    assert r.status == 200 and "ladder" in await r.text()
                async with http.get(url + "/static/..%2Fserver.py") as r:
                    assert r.status == 404
        finally:
            await server.stop()

    run(scenario())
