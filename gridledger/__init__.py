"""gridledger: a grid market maker whose position ledger is exactly-once.

The public API is small; see the README for a runnable example:

- ``gridledger.config.load_config`` reads a TOML config file.
- ``gridledger.ledger.Ledger`` applies normalised evidence to grid slots (pure, in memory).
- ``gridledger.store.Journal`` persists a ledger in SQLite and restores it on open.
- ``gridledger.venues.parse_message`` turns ccxt structures and raw venue payloads into evidence.
"""

__version__ = "0.1.0"
