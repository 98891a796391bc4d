"""What every command shares: the consoles, one-line failures, config loading, output and port checks."""

from __future__ import annotations

import os
import tomllib
from datetime import UTC
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.markup import escape

from gridledger.config import ConfigError, load_config
from gridledger.console import PipeSafeConsole
from gridledger.venues.registry import format_names

# Pipe-safe: a closed stdout (`| head`) exits 141, not 1 (= MISMATCH); see gridledger.console.
out = PipeSafeConsole(highlight=False)
err = PipeSafeConsole(stderr=True, highlight=False)

# --format choices: "auto" and every format the venue registry declares (a new venue appears
# here by itself). mypy cannot see members of an Enum built from a computed mapping.
Format = Enum(  # type: ignore[misc]
    "Format", {name.replace("-", "_"): name for name in ("auto", *format_names())}, type=str
)


def fail(message: str, code: int = 2) -> NoReturn:
    # The message quotes config keys ("[paper] duration") and user input: never markup.
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gridledger")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        out.print(f"gridledger {_version()}", markup=False)
        raise typer.Exit(0)


def _bundled_paper_config() -> Path:
    from importlib.resources import files

    return Path(str(files("gridledger") / "data" / "paper.toml"))


def _bundled_paper_default(key: str) -> str:
    """A [paper] value of the bundled config, for --help (the config given with -c may differ)."""
    try:
        return str(tomllib.loads(_bundled_paper_config().read_text(encoding="utf-8"))["paper"][key])
    except (OSError, KeyError, ValueError):  # pragma: no cover - the bundled file is part of the package
        return "?"


def _check_output_file(path: Path, option: str) -> None:
    """Refuse an output path before hours of work, not after (issue 7 item 15)."""
    folder = path.parent
    if path.is_dir():
        fail(f"{option} {path}: is a directory")
    if not folder.is_dir():
        fail(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(f"{option} {path}: not writable")


def _load(config: Path) -> Any:
    try:
        return load_config(config)
    except ConfigError as exc:
        fail(str(exc))


def _check_port_free(port: int) -> None:
    """metrics_port already taken: one line now, not a traceback after preflight."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the metrics server binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            fail(
                f"engine.metrics_port {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); "
                "is another engine running?"
            )


def _check_api(cfg: Any) -> str | None:
    """[api]: a non-loopback bind without a token, or a port in use: one line now, exit 2."""
    import socket

    from gridledger.api.auth import ApiSetupError, resolve_token

    try:
        token = resolve_token(cfg.api)
    except ApiSetupError as exc:
        fail(str(exc))
    host = cfg.api.host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the API server binds
        try:
            sock.bind((host, cfg.api.port))
        except OSError as exc:
            fail(f"api.port {cfg.api.port}: cannot listen on {cfg.api.host} ({exc.strerror or exc})")
    return token


def _announce_resume(path: Path, cfg: Any) -> None:
    """Say so when a run continues an existing journal (never creates one: --dry-run must not)."""
    from datetime import datetime

    from gridledger.ledger.ledger import Ledger
    from gridledger.store.journal import Journal, JournalError

    if not path.is_file():
        return
    ledger = Ledger(cfg.grid.spec())
    try:
        with Journal.open(path, ledger, synchronous=cfg.engine.journal_synchronous) as journal:
            last = journal.last_received_at()
            # Client ids are allocated (and persisted) before an order is sent (R7): one per order.
            orders = sum(slot.next_gen for slot in ledger.slots.values())
    except JournalError as exc:
        fail(str(exc))
    if last is None:
        return
    when = datetime.fromtimestamp(last / 1000, UTC).isoformat()
    out.print(escape(f"resuming session from {path} ({orders} orders, last event at {when})"))
