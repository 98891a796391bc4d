"""The typer applications the commands register on, and the top-level options."""

from __future__ import annotations

import typer

from gridledger.cli.common import _show_version

# rich_markup_mode=None: help text is printed as written. Rich markup would take "[grid]" in a
# help string for a style tag and print "TOML config with a  table." (issue 7 item 16).
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="gridledger: a grid market maker with an exactly-once ledger.",
)
coid_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Encode and decode gridledger client order ids.",
)
app.add_typer(coid_app, name="coid")
journal_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Maintain a journal: export its evidence, compact it.",
)
app.add_typer(journal_app, name="journal")


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """gridledger: a grid market maker with an exactly-once ledger."""
