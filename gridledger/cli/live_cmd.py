"""`gridledger live`: trading on a real venue through ccxt."""

from __future__ import annotations

from pathlib import Path

import typer

from gridledger.cli.apps import app
from gridledger.cli.common import (
    _announce_resume,
    _check_api,
    _check_port_free,
    _load,
    fail,
    out,
)
from gridledger.config import ConfigError
from gridledger.logs import setup_logging


@app.command()
def live(
    config: Path = typer.Option(
        ...,
        "--config",
        "-c",
        help="TOML config with the grid, strategy and exchange tables ([exchange] id names the venue: required).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Connect, reconcile, print the actions; send none."),
    sandbox: bool = typer.Option(False, "--sandbox", help="Use the venue's testnet (ccxt sandbox mode)."),
    db: Path | None = typer.Option(None, "--db", help="Journal path (default: the exchange table's journal key)."),
    log_level: str = typer.Option("INFO", "--log-level", help="Log level on stderr."),
    log_json: bool = typer.Option(False, "--log-json", help="Logs as JSON lines."),
) -> None:
    """Trade the grid on a real exchange through ccxt (keys from environment variables)."""
    import asyncio

    from gridledger.live.settings import exchange_settings

    setup_logging(log_level, json_lines=log_json)
    cfg = _load(config)
    try:
        settings = exchange_settings(dict(cfg.exchange))
    except ConfigError as exc:
        fail(f"{config}: {exc}")
    from gridledger.config_perp import perp_table_error

    perp_problem = perp_table_error(cfg.grid.symbol, "perp" in cfg.model_fields_set)
    if perp_problem is not None:
        fail(f"{config}: {perp_problem}")
    from gridledger.live.factory import CredentialsError
    from gridledger.live.runner import journal_path, run_live
    from gridledger.store.journal import JournalError

    # Local checks first: a bad setup must fail before anything touches the network.
    if cfg.engine.metrics_port is not None and not dry_run:
        _check_port_free(cfg.engine.metrics_port)
    if cfg.api.port is not None and not dry_run:
        _check_api(cfg)
    _announce_resume(journal_path(cfg, settings, db), cfg)
    try:
        code = asyncio.run(run_live(cfg, settings, dry_run=dry_run, sandbox=sandbox, db=db, console=out))
    except CredentialsError as exc:
        fail(str(exc))
    except JournalError as exc:
        fail(str(exc))
    raise typer.Exit(code)
