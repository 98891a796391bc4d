"""`gridledger live` with `[api] port`, as a process, on the local Binance-protocol server: the
runner starts the API with the engine, the stop endpoint stops the process cleanly (exit 0),
and what the API said last equals the journal's replay."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from decimal import Decimal as D
from pathlib import Path

import aiohttp
from typer.testing import CliRunner

from gridledger.cli import app
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.testkit.local_binance import LocalBinance, LocalBinanceConfig

TOKEN = "live-cli-token-0123456789"
KEY, SECRET = "api-key-123", "api-secret-456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp_path: Path, server: LocalBinance, port: int) -> Path:
    body = f"""[grid]
id = "apicli"
symbol = "BTC/USDT"
anchor = "30000"
interval = "100"
[strategy]
buy_window = 3
quote_per_level = "100"
[engine]
reconcile_every_s = 2
request_timeout_s = 2
stream_idle_s = 3
[exchange]
id = "binance"
endpoint = "{server.http_url}"
journal = "{tmp_path / "live.db"}"
[api]
port = {port}
"""
    path = tmp_path / "live.toml"
    path.write_text(body)
    return path


async def wait_line(stream: asyncio.StreamReader, needle: str, seen: list[str]) -> str:
    while True:
        raw = await asyncio.wait_for(stream.readline(), 60)
        if not raw:
            raise AssertionError(f"the process ended before {needle!r}:\n" + "".join(seen))
        line = raw.decode()
        seen.append(line)
        if needle in line:
            return line


def test_live_command_serves_the_api_and_stops_on_request(tmp_path):
    port = free_port()
    config = None

    async def scenario():
        nonlocal config
        spec = SimMarketSpec(participation=D("1"))
        cfg = LocalBinanceConfig(spec=spec, balances={"USDT": D("10000"), "BTC": D("0")}, api_key=KEY, secret=SECRET)
        async with LocalBinance(cfg) as server:
            config = write_config(tmp_path, server, port)
            env = dict(os.environ, GRIDLEDGER_API_KEY=KEY, GRIDLEDGER_API_SECRET=SECRET, GRIDLEDGER_API_TOKEN=TOKEN)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gridledger.cli", "live", "--config", str(config), "--log-level", "WARNING",
                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            seen: list[str] = []
            try:
                line = await wait_line(proc.stdout, "dashboard and API on", seen)
                url = line.split(" on ", 1)[1].strip().rstrip("/")
                assert url == f"http://127.0.0.1:{port}"
                await wait_line(proc.stdout, "running;", seen)
                async with aiohttp.ClientSession() as http:
                    deadline = asyncio.get_running_loop().time() + 30
                    while True:  # three buys acknowledged (polling a condition with a deadline)
                        async with http.get(url + "/api/v1/orders") as r:
                            orders = (await r.json())["orders"]
                        if sum(1 for o in orders if o["acknowledged"]) == 3:
                            break
                        assert asyncio.get_running_loop().time() < deadline, orders
                        await asyncio.sleep(0.05)
                    await server.set_price("29890", volume=D("1"))
                    deadline = asyncio.get_running_loop().time() + 30
                    while True:
                        async with http.get(url + "/api/v1/status") as r:
                            status = await r.json()
                        if D(status["position"]) > 0:
                            break
                        assert asyncio.get_running_loop().time() < deadline, status
                        await asyncio.sleep(0.05)
                    async with http.post(url + "/api/v1/control/pause") as r:
                        assert r.status == 401
                    async with http.post(
                        url + "/api/v1/control/stop", headers={"Authorization": f"Bearer {TOKEN}"}
                    ) as r:
                        assert r.status == 202
                    # The fill's closing sell may still be in flight: read the API's last word
                    # once the process stopped trading (it says so on its way out).
                    rest = (await asyncio.wait_for(proc.stdout.read(), 60)).decode()
                    seen.append(rest)
                code = await asyncio.wait_for(proc.wait(), 60)
                assert code == 0, "".join(seen)
                assert "stopped." in rest
                return rest
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    asyncio.run(asyncio.wait_for(scenario(), 150))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(
        app, ["replay", str(empty), "--config", str(config), "--db", str(tmp_path / "live.db"), "--json"]
    )
    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)
    assert D(state["position"]) > 0
    assert any(slot["level"] == -1 and D(slot["qty"]) > 0 for slot in state["slots"])
