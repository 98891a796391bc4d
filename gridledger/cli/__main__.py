"""``python -m gridledger.cli``."""

from gridledger.cli import main

main()
