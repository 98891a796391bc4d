"""`gridledger live` with a [notify] table, against the local Binance-protocol server and a
local HTTP recorder: the pause (with its reason), the fill and the stop arrive, once each,
and neither the API key nor the secret is in any payload."""

from __future__ import annotations

import asyncio
import signal
import sys
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))  # the live end-to-end helpers
from test_live_e2e import WAIT, _live_config, _live_env, run, server_config

from gridledger.testkit.local_binance import LocalBinance
from gridledger.testkit.local_binance.testing import until
from gridledger.testkit.recorder import Recorder

KEY, SECRET = "notify-key-7731", "notify-secret-99421"


def test_live_sends_pause_fill_and_stop_without_secrets(tmp_path):
    with Recorder("ok") as rec:

        async def scenario():
            async with LocalBinance(server_config(api_key=KEY, secret=SECRET)) as server:
                config = _live_config(tmp_path, server)
                config.write_text(
                    config.read_text() + '[notify]\nurls_env = "GL_LIVE_NOTIFY"\n'
                    'kinds = ["fill", "pause", "resume", "stop"]\ntimeout_s = 5\n'
                )
                env = {**_live_env(KEY, SECRET), "GL_LIVE_NOTIFY": rec.apprise_url("live")}
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "gridledger.cli",
                    "live",
                    "--config",
                    str(config),
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
                try:
                    await until(lambda: len(server.core.open_orders()) == 3, WAIT, "the buys are placed")
                    proc.send_signal(signal.SIGUSR1)  # pause: a PAUSE message with its reason
                    await until(lambda: any("paused" in b["message"] for b in rec.bodies()), WAIT, "pause message")
                    await server.set_price("29850", volume=D("1"))  # the buy at 29900 fills
                    await until(lambda: any(b["title"].endswith(": fill") for b in rec.bodies()), WAIT, "fill")
                finally:
                    proc.send_signal(signal.SIGTERM)
                    out, _ = await asyncio.wait_for(proc.communicate(), WAIT)
                return proc.returncode, out.decode()

        code, out = run_and_return(scenario())
        bodies = rec.bodies()
    assert code == 0, out
    assert "notifications: fill, pause, resume, stop" in out
    kinds = [b["title"].rsplit(": ", 1)[1] for b in bodies]
    assert kinds.count("fill") == 1 and kinds.count("pause") == 1 and kinds[-1] == "stop", bodies
    pause = next(b for b in bodies if b["title"].endswith(": pause"))
    assert "manual" in pause["message"]
    fill = next(b for b in bodies if b["title"].endswith(": fill"))
    assert fill["message"].startswith("buy ") and " at 29900 " in fill["message"]
    assert KEY not in repr(bodies) and SECRET not in repr(bodies)


def run_and_return(coro):
    box: list = []

    async def wrap():
        box.append(await coro)

    run(wrap())
    return box[0]
